"""What the commands share: the config, override, run-name and output arguments, and reading overrides.

Overrides are fast-reid's `KEY VALUE` pairs after the options (`SOLVER.BASE_LR 0.0007`); a `--`
before them is allowed and dropped, as in `reidlab train --config-file F -- SOLVER.BASE_LR 0.0007`.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Sequence

CONFIG_HELP = "fast-reid style YAML config (configs/... also finds the shipped ones)"
OVERRIDES_HELP = "config overrides, e.g. SOLVER.BASE_LR 0.0007"
KEY_REFERENCE = "Every key, its default and meaning: docs/configuration.md."
# A fast-reid key as typed on the command line: SOLVER.BASE_LR, SEED, MODEL.LOSSES.TRI.SCALE.
_KEY = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)*$")


def add_config_file(parser: argparse.ArgumentParser, required: bool = True, help: str = CONFIG_HELP) -> None:
    parser.add_argument("--config-file", required=required, metavar="FILE", help=help)


def add_overrides(parser: argparse.ArgumentParser, help: str = OVERRIDES_HELP) -> None:
    parser.add_argument("opts", nargs=argparse.REMAINDER, metavar="KEY VALUE", help=help)


def add_run_name(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-name", metavar="NAME", help="run folder name under the data set's log folder (default: OUTPUT_DIR or the config's name)")


def add_out(parser: argparse.ArgumentParser, help: str, metavar: str = "DIR", required: bool = False) -> None:
    parser.add_argument("--out", metavar=metavar, required=required, help=help)


def overrides(opts: Sequence[str]) -> list[str]:
    """The KEY VALUE pairs as typed, without a leading `--`."""
    opts = list(opts)
    return opts[1:] if opts[:1] == ["--"] else opts


def split_configs_and_overrides(items: Sequence[str]) -> tuple[list[str], list[str]]:
    """`DIR a.yml SOLVER.MAX_EPOCH 4` -> configs and overrides: overrides start at the first KEY (or after `--`)."""
    items = list(items)
    if "--" in items:
        cut = items.index("--")
        return items[:cut], items[cut + 1 :]
    for index, item in enumerate(items):
        if _KEY.match(item) and not os.path.exists(item):
            return items[:index], items[index:]
    return items, []
