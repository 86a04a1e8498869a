"""`reidlab data synth`: argument parsing only."""

from __future__ import annotations

import argparse


def add_data_commands(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="data set tools")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    synth = data_commands.add_parser("synth", help="write a synthetic data set in the Market-1501 layout")
    synth.add_argument("--out", required=True, metavar="DIR", help="folder to write into (use it as DATASETS.ROOT)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.set_defaults(handler=_synth)


def _synth(args: argparse.Namespace) -> int:
    from reidlab.data import synth_main

    synth_main(args.out, seed=args.seed)
    return 0
