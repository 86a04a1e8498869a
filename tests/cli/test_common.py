"""The command line's shared parts: override parsing, and a start that imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reidlab.cli.common import overrides, split_configs_and_overrides
from reidlab.cli.main import build_parser, main
from reidlab.errors import UserError

HEAVY = ("torch", "matplotlib", "optuna", "numpy")


def test_a_leading_double_dash_is_dropped_from_overrides():
    assert overrides(["--", "SOLVER.BASE_LR", "0.1"]) == ["SOLVER.BASE_LR", "0.1"]
    assert overrides(["SOLVER.BASE_LR", "0.1"]) == ["SOLVER.BASE_LR", "0.1"]
    assert overrides([]) == []


def test_configs_and_overrides_split_where_the_first_key_starts():
    assert split_configs_and_overrides(["dir", "x.yml", "SOLVER.MAX_EPOCH", "4", "SEED", "1"]) == (["dir", "x.yml"], ["SOLVER.MAX_EPOCH", "4", "SEED", "1"])
    assert split_configs_and_overrides(["dir", "--", "OUTPUT_DIR", "x"]) == (["dir"], ["OUTPUT_DIR", "x"])
    assert split_configs_and_overrides(["a.yml"]) == (["a.yml"], [])


def test_every_command_hands_its_overrides_over_without_the_double_dash():
    parser = build_parser()
    for argv in (["train", "--config-file", "c.yml", "--", "SEED", "3"], ["doctor", "--config-file", "c.yml", "--", "SEED", "3"]):
        assert overrides(parser.parse_args(argv).opts) == ["SEED", "3"]


def _help_imports(argv: list[str]) -> dict:
    """The modules `reidlab ARGV` (a --help) leaves imported, from a fresh interpreter."""
    code = (
        "import json, sys\n"
        "from reidlab.cli.main import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps({{name: name in sys.modules for name in {HEAVY!r}}}))"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_help_of_reidlab_and_of_every_command_imports_nothing_heavy():
    commands = _commands()
    assert {"train", "compare", "diagnose", "sweep", "search", "doctor", "export", "embed", "match", "demo", "data", "eval"} <= set(commands)
    for argv in [["--help"]] + [[command, "--help"] for command in commands]:
        loaded = _help_imports(argv)
        assert not any(loaded.values()), f"reidlab {' '.join(argv)} imports {[name for name, yes in loaded.items() if yes]}"


def test_the_cli_turns_any_user_error_into_one_line(monkeypatch, capsys):
    """The CLI catches reidlab.errors.UserError alone; every package's one-line errors derive from it."""
    from reidlab.cli import train_commands

    def fails(args):
        raise UserError("somewhere.yml: something is wrong\nand here is how to fix it")

    monkeypatch.setattr(train_commands, "_train", fails)
    assert main(["train", "--config-file", "x.yml"]) == 2
    assert capsys.readouterr().err == "reidlab train: error: somewhere.yml: something is wrong and here is how to fix it\n"


@pytest.mark.parametrize(
    "error",
    [
        "reidlab.config:ConfigError",
        "reidlab.data:DatasetError",
        "reidlab.rundir:CheckpointError",
        "reidlab.rundir:RunDirError",
        "reidlab.modeling:PretrainedWeightsError",
        "reidlab.deploy:DeployError",
        "reidlab.research.compare:CompareError",
        "reidlab.research.diagnose:DiagnoseError",
        "reidlab.research.sweep:SweepError",
        "reidlab.research.search:SearchError",
    ],
)
def test_every_package_error_is_a_user_error(error):
    import importlib

    module, name = error.split(":")
    assert issubclass(getattr(importlib.import_module(module), name), UserError)
