"""The `reidlab` command: argument parsing only; each command is one call into a package."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from reidlab.cli.deploy_commands import add_deploy_commands
from reidlab.cli.doctor_command import add_doctor_command
from reidlab.cli.research_commands import add_research_commands
from reidlab.cli.search_command import add_search_command
from reidlab.config import ConfigError
from reidlab.data import DatasetError
from reidlab.deploy import DeployError
from reidlab.modeling import PretrainedWeightsError
from reidlab.research.diagnose import DiagnoseError
from reidlab.research.search import SearchError
from reidlab.research.sweep import SweepError
from reidlab.rundir import CheckpointError, RunDirError

# Mistakes in what the user gave us: one line, no traceback, exit 2.
USER_ERRORS = (
    ConfigError,
    DatasetError,
    CheckpointError,
    RunDirError,
    PretrainedWeightsError,
    DiagnoseError,
    SweepError,
    SearchError,
    DeployError,
)
EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reidlab", description="Train, diagnose, compare and deploy person re-identification models.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train from a fast-reid YAML config", description="Train from a fast-reid YAML config into logs/<dataset>/<run-name>/. On several GPUs: torchrun --nproc_per_node=N -m reidlab train ... (SOLVER.IMS_PER_BATCH is the global batch).")
    train.add_argument("--config-file", required=True, metavar="FILE", help="fast-reid style YAML config (configs/... also finds the shipped ones)")
    train.add_argument("--run-name", metavar="NAME", help="run folder name under the data set's log folder (default: OUTPUT_DIR or the config's name)")
    train.add_argument("--resume", action="store_true", help="continue the run from its last_checkpoint.pth")
    train.add_argument("opts", nargs=argparse.REMAINDER, metavar="KEY VALUE", help="config overrides, e.g. SOLVER.BASE_LR 0.0007")
    train.set_defaults(handler=_train)

    compare = commands.add_parser(
        "compare", help="rank runs and write BEST_MODEL_SELECTION.txt", description="Rank runs by best mAP, test whether the leader really beats the rest, and write BEST_MODEL_SELECTION.txt/.json, plots and report.html."
    )
    compare.add_argument("paths", nargs="+", metavar="PATH", help="run directories, folders of runs, or globs (fast-reid run folders too)")
    compare.add_argument("--out", metavar="DIR", help="where to write the report (default: the runs' common parent)")
    compare.set_defaults(handler=_compare)

    add_research_commands(commands)
    add_search_command(commands)
    add_doctor_command(commands)
    add_deploy_commands(commands)

    demo = commands.add_parser("demo", help="train on a built-in synthetic data set on the CPU, in minutes", description="Write a synthetic data set, train the small CPU config with early stopping, and show the run directory.")
    demo.add_argument("--out", default="reidlab_demo", metavar="DIR", help="folder for the synthetic data and the run (default: reidlab_demo)")
    demo.set_defaults(handler=_demo)

    data = commands.add_parser("data", help="data set tools")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    synth = data_commands.add_parser("synth", help="write a synthetic data set in the Market-1501 layout")
    synth.add_argument("--out", required=True, metavar="DIR", help="folder to write into (use it as DATASETS.ROOT)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.set_defaults(handler=_synth)
    return parser


def _train(args: argparse.Namespace) -> int:
    from reidlab.engine.train import train

    return train(args.config_file, args.run_name, _overrides(args.opts), resume=args.resume).exit_code


def _compare(args: argparse.Namespace) -> int:
    from reidlab.research.compare import compare_main

    return compare_main(args.paths, args.out)


def _demo(args: argparse.Namespace) -> int:
    from reidlab.research.demo import run_demo

    return run_demo(args.out)


def _synth(args: argparse.Namespace) -> int:
    from reidlab.data import synth_main

    synth_main(args.out, seed=args.seed)
    return 0


def _overrides(opts: list[str]) -> list[str]:
    return opts[1:] if opts[:1] == ["--"] else opts


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except USER_ERRORS as exc:
        print(f"reidlab {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
