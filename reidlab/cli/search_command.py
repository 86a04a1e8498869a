"""`reidlab search`: argument parsing only; the search lives in reidlab.research.search.command."""

from __future__ import annotations

import argparse

from reidlab.cli.common import add_config_file, add_overrides, overrides

DESCRIPTION = """\
Optuna hyperparameter search: each trial is an ordinary run directory <study folder>/trial_<n>,
pruned on the mAP of each evaluation. --trials is the study's total over all workers and reruns:
run the same command in several terminals (or machines, with --storage postgresql://...) to
share one study, and rerun it after Ctrl-C to continue.

space file (fast-reid keys, checked against the config schema):
  SOLVER.BASE_LR: {low: 1.0e-4, high: 1.0e-3, log: true}
  SOLVER.IMS_PER_BATCH: {choices: [32, 64]}
  MODEL.LOSSES.TRI.SCALE: {low: 0.5, high: 2.0}
  SOLVER.SCHED: {choices: [MultiStepLR, CosineAnnealingLR]}
  (example: reidlab/configs/search/example_space.yml)

watch it live (pip install optuna-dashboard):
  optuna-dashboard logs/<dataset>/<study>/study.journal
  optuna-dashboard sqlite:///path/to/study.db         (with --storage sqlite:///path/to/study.db)
"""


def add_search_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `search` on the reidlab command's subparsers; its handler returns the exit code."""
    search = subparsers.add_parser(
        "search",
        help="Optuna hyperparameter search with pruning; each trial is a run directory",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_file(search, help="base fast-reid YAML config of every trial")
    search.add_argument("--space", required=True, metavar="SPACE.yml", help="search space: fast-reid keys with ranges or choices")
    search.add_argument("--trials", type=int, default=20, metavar="N", help="trials in the study in total, all workers and reruns together (default 20)")
    search.add_argument("--study", metavar="NAME", help="study name and folder name (default: <config name>_search)")
    search.add_argument("--out", metavar="DIR", help="study folder holding trial_<n> runs, the journal and the report (default: OUTPUT_DIR if given, else logs/<dataset>/<study>)")
    search.add_argument("--storage", metavar="URL", help="Optuna storage: a journal file path, sqlite:///file.db or postgresql://user:pass@host/db (default: <study folder>/study.journal)")
    search.add_argument("--pruner", choices=("median", "halving", "none"), default="median", help="median (default): below the median of completed trials at the same epoch; halving: successive halving; none")
    search.add_argument("--startup-trials", type=int, default=5, metavar="N", help="median pruner: completed trials before pruning starts (default 5)")
    search.add_argument("--warmup-epochs", type=int, default=0, metavar="N", help="no pruning before this epoch (halving: its first rung; default 0 = Optuna's choice)")
    search.add_argument("--enqueue", metavar="DIR", help="run the base config and every YAML config in DIR first (e.g. custom_configs/plateau_solutions), each exactly as written")
    search.add_argument("--no-report", action="store_true", help="skip the compare report at the end")
    add_overrides(search, help="config overrides for every trial, e.g. DATASETS.ROOT /data (OUTPUT_DIR sets the study folder)")
    search.set_defaults(handler=run_search_command)
    return search


def run_search_command(args: argparse.Namespace) -> int:
    from reidlab.research.search import SearchSettings, search_main

    settings = SearchSettings(
        config_file=args.config_file,
        space_file=args.space,
        trials=args.trials,
        study=args.study,
        out=args.out,
        storage=args.storage,
        pruner=args.pruner,
        startup_trials=args.startup_trials,
        warmup_epochs=args.warmup_epochs,
        enqueue=args.enqueue,
        overrides=overrides(args.opts),
        report=not args.no_report,
    )
    return search_main(settings)

