"""The `reidlab` command: argument parsing only; each command is one lazily imported call into a package.

Nothing heavy is imported here: `reidlab --help` and `reidlab COMMAND --help` load neither torch
nor matplotlib nor optuna. A mistake in what the user gave ends as one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from reidlab.cli.data_commands import add_data_commands
from reidlab.cli.deploy_commands import add_deploy_commands
from reidlab.cli.doctor_command import add_doctor_command
from reidlab.cli.eval_command import add_eval_command
from reidlab.cli.research_commands import add_research_commands
from reidlab.cli.search_command import add_search_command
from reidlab.cli.train_commands import add_demo_command, add_train_command
from reidlab.errors import UserError

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reidlab", description="Train, diagnose, compare and deploy person re-identification models.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_train_command, add_eval_command, add_research_commands, add_search_command, add_doctor_command, add_deploy_commands, add_demo_command, add_data_commands):
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UserError as exc:
        print(f"reidlab {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
