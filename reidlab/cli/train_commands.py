"""`reidlab train` and `reidlab demo`: argument parsing only; each handler is one lazily imported call."""

from __future__ import annotations

import argparse

from reidlab.cli.common import KEY_REFERENCE, add_config_file, add_overrides, add_run_name, overrides

TRAIN_DESCRIPTION = (
    "Train from a fast-reid YAML config into logs/<dataset>/<run-name>/. On several GPUs: "
    "torchrun --nproc_per_node=N -m reidlab train ... (SOLVER.IMS_PER_BATCH is the global batch). " + KEY_REFERENCE
)


def add_train_command(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="train from a fast-reid YAML config", description=TRAIN_DESCRIPTION)
    add_config_file(train)
    add_run_name(train)
    train.add_argument("--resume", action="store_true", help="continue the run from its last_checkpoint.pth")
    add_overrides(train)
    train.set_defaults(handler=_train)


def add_demo_command(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="train on a built-in synthetic data set on the CPU, in minutes",
        description="Write a synthetic data set, train the small CPU config with early stopping, and show the run directory.",
    )
    demo.add_argument("--out", default="reidlab_demo", metavar="DIR", help="folder for the synthetic data and the run (default: reidlab_demo)")
    demo.set_defaults(handler=_demo)


def _train(args: argparse.Namespace) -> int:
    from reidlab.engine.train import train

    return train(args.config_file, args.run_name, overrides(args.opts), resume=args.resume).exit_code


def _demo(args: argparse.Namespace) -> int:
    from reidlab.research.demo import run_demo

    return run_demo(args.out)
