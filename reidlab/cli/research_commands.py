"""`reidlab compare`, `diagnose`, `visualize` and `sweep`: argument parsing only; each handler is one call into reidlab.research."""

from __future__ import annotations

import argparse

from reidlab.cli.common import add_out, split_configs_and_overrides


def add_research_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `compare`, `diagnose`, `visualize` and `sweep` on the main parser's subcommands."""
    compare = subparsers.add_parser(
        "compare",
        help="rank runs and write BEST_MODEL_SELECTION.txt",
        description="Rank runs by best mAP, test whether the leader really beats the rest, and write BEST_MODEL_SELECTION.txt/.json, plots and report.html.",
    )
    compare.add_argument("paths", nargs="+", metavar="PATH", help="run directories, folders of runs, or globs (fast-reid run folders too)")
    add_out(compare, "where to write the report (default: the runs' common parent)")
    compare.set_defaults(handler=_compare)

    diagnose = subparsers.add_parser(
        "diagnose",
        help="say why a run plateaued, with evidence, and write remedy configs and launchers",
        description="Read a run's history, config and data-set size (a reidlab run folder, or a fast-reid output folder: "
        "metrics.json, config.yaml and log.txt); write analysis.txt/.json (findings with evidence, cause and fix, most severe "
        "first), the remedy configs (the seed's five plus targeted ones, loadable by reidlab) and run_plateau_solutions.sh/.bat.",
    )
    diagnose.add_argument("run_dir", metavar="RUN_DIR", help="a reidlab run folder (or a fast-reid output folder)")
    add_out(diagnose, "where to write analysis.txt/.json (default: the run folder)")
    diagnose.add_argument(
        "--out-configs", metavar="DIR", help="where to write the remedy configs and launchers (default: custom_configs/plateau_solutions)"
    )
    diagnose.set_defaults(handler=_diagnose)

    visualize = subparsers.add_parser(
        "visualize",
        help="draw rank lists of the worst queries, breakdowns by camera, and a report.html",
        description="Rank the test set again with the folder's model (a run's best_model.pth, or the checkpoint an eval folder of "
        "`reidlab eval` evaluated) and write, into OUT (default RUN/visualize): one PNG rank list per chosen query (frames: green a "
        "true match, red a wrong identity, grey a same-camera match the protocol drops), worst_queries.png (the 20 worst), "
        "breakdowns.json with its plots (per camera, per camera pair, AP distribution, CMC, distances) and report.html.",
    )
    visualize.add_argument("folder", metavar="RUN_OR_EVAL_FOLDER", help="a reidlab run folder or an eval folder")
    visualize.add_argument("--queries", default="worst", metavar="worst|best|random|ID,...", help="which 20 queries to draw, or every query of these identities (default worst: lowest AP)")
    visualize.add_argument("--top", type=int, default=10, metavar="K", help="gallery images per rank list (default 10)")
    add_out(visualize, "where to write (default: RUN_OR_EVAL_FOLDER/visualize)")
    visualize.set_defaults(handler=_visualize)

    sweep = subparsers.add_parser(
        "sweep",
        help="train several configs (sequentially or by successive halving) and pick the best",
        description="Train every config (a folder of .yml files, or files) as --run-name <file stem>; failed runs are recorded "
        "and the sweep goes on; rerunning the same command resumes it. Ends with compare and the winner. "
        "Put options before the configs; KEY VALUE overrides after them apply to every run.",
    )
    sweep.add_argument("items", nargs="*", metavar="CONFIG", help="config files or folders of configs, then optional KEY VALUE overrides for every run")
    sweep.add_argument("--strategy", choices=("sequential", "halving"), default="sequential", help="sequential (default): each run to its own early stop; halving: successive halving by epochs")
    sweep.add_argument("--eta", type=int, choices=(2, 3), default=3, help="halving: keep the best 1/eta at each rung (default 3)")
    sweep.add_argument("--min-epochs", type=int, metavar="N", help="halving: the first rung is at least N epochs (rounded up to a multiple of TEST.EVAL_PERIOD)")
    add_out(sweep, "where to write sweep.json and the comparison (default: beside the runs)")
    sweep.add_argument("--storage", metavar="URL", help="share the sweep through Optuna's storage (postgresql://user:pass@host/db, sqlite:///file.db or a journal file): run the same command on every GPU or machine")
    sweep.add_argument("--study", metavar="NAME", help="the shared sweep's name in --storage")
    sweep.add_argument("--status", action="store_true", help="with --storage and --study: show who runs what, and stop")
    sweep.set_defaults(handler=_sweep)


def _compare(args: argparse.Namespace) -> int:
    from reidlab.research.compare import compare_main

    return compare_main(args.paths, args.out)


def _diagnose(args: argparse.Namespace) -> int:
    from reidlab.research.diagnose import diagnose_main

    return diagnose_main(args.run_dir, args.out, args.out_configs)


def _visualize(args: argparse.Namespace) -> int:
    from reidlab.research.visualize import visualize_main

    return visualize_main(args.folder, args.queries, args.top, args.out)


def _sweep(args: argparse.Namespace) -> int:
    from reidlab.research.sweep import sweep_main

    configs, overrides = split_configs_and_overrides(args.items)
    return sweep_main(configs, overrides, args.strategy, args.eta, args.min_epochs, args.out, args.storage, args.study, args.status)
