"""Every command shown in README.md and docs/ is checked, so the docs cannot lie about the CLI.

- `reidlab ARGS`, `python -m reidlab ARGS` and `torchrun [torchrun flags] -m reidlab ARGS`: ARGS must
  parse with reidlab's own parser (`build_parser()`), torchrun's flags with torchrun's own parser.
  Config files named must exist (`configs/...` also finds the shipped ones), KEY VALUE overrides must
  load with `load_config`, a search space must load and fit its base config.
- Files that an earlier documented step writes (a run's config.yaml under logs/, the remedy configs
  under custom_configs/) cannot exist here: their overrides are checked against the defaults instead.
- Anything else must be on the small allow-list below (pip, cd, cat, type, python -m pytest, ...).
- Python blocks compile, and every `from reidlab... import name` they show imports.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import re
import sys
from pathlib import Path

import pytest

from reidlab.cli.common import overrides as cli_overrides
from reidlab.cli.common import split_configs_and_overrides
from reidlab.cli.main import build_parser
from reidlab.config import load_config, resolve_config_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_commands import REPO, all_commands, code_blocks, doc_files  # noqa: E402

# Paths that a documented step writes before they are used (train -> logs/, diagnose -> custom_configs/, demo -> reidlab_demo/).
GENERATED = ("logs/", "custom_configs/", "reidlab_demo/")

# Commands that are not reidlab's: the first word, and what else must hold.
ALLOWED_FIRST_WORDS = {
    "cd", "cat", "type", "ls", "dir", "more", "tail", "copy", "cp", "mkdir",  # look at / move files
    "tensorboard", "optuna-dashboard",  # viewers of reidlab's outputs
    "set", "export", ".", "source",  # environment, virtual environments
    "sh", "echo",  # sh run_plateau_solutions.sh; @echo off in a .bat
}
ALLOWED_PATTERNS = [
    re.compile(r"^(python3?|py) -m pip install .+$"),
    re.compile(r"^(pip|pip3) install .+$"),
    re.compile(r"^(python3?|py) -m venv \S+$"),
    re.compile(r"^(python3?|py) -m pytest( \S+)*$"),
    re.compile(r"^(python3?|py) -m reidlab\.config\.reference$"),
    re.compile(r"^\.venv[\\/](Scripts[\\/]activate|bin[\\/]activate)$"),
    re.compile(r"^(\./)?custom_configs[\\/]plateau_solutions[\\/]run_plateau_solutions\.(sh|bat)$"),
]

COMMANDS = all_commands()


def _id(command) -> str:
    return command.where[:90]


def test_the_docs_show_commands():
    """The pages exist and hold commands (a guard against the extractor silently finding nothing)."""
    files = {c.file.relative_to(REPO).as_posix() for c in COMMANDS}
    assert "README.md" in files
    assert len([f for f in files if f.startswith("docs/")]) >= 5, files
    assert any(c.shell == "cmd" for c in COMMANDS), "no Windows cmd block found"
    assert any(c.words[0] == "torchrun" for c in COMMANDS), "no torchrun command found"


@pytest.mark.parametrize("command", COMMANDS, ids=_id)
def test_command(command):
    words = [w.replace("\\", "/") if command.shell == "cmd" and _looks_like_path(w) else w for w in command.words]
    first = words[0]
    if first == "reidlab":
        check_reidlab(words[1:], command.where)
    elif first in ("python", "python3", "py") and words[1:3] == ["-m", "reidlab"]:
        check_reidlab(words[3:], command.where)
    elif first == "torchrun":
        check_torchrun(words[1:], command.where)
    elif first in ALLOWED_FIRST_WORDS:
        if first == "sh":
            assert re.match(r"^(\./)?custom_configs/plateau_solutions/run_plateau_solutions\.sh$", words[1]), command.where
    elif re.match(r"^(python3?|py) -m pytest", " ".join(words)):
        for path in words[3:]:
            if not path.startswith("-"):
                assert (REPO / path.split("::")[0]).exists(), f"{command.where}: {path} does not exist"
    else:
        joined = " ".join(command.words)
        assert any(p.match(joined) for p in ALLOWED_PATTERNS), f"{command.where}: not a reidlab command and not on the allow-list"


def check_torchrun(args: list[str], where: str) -> None:
    from torch.distributed.run import get_args_parser

    parsed = _parse(get_args_parser(), args, where)
    assert parsed.module and parsed.training_script == "reidlab", f"{where}: torchrun must run `-m reidlab`"
    check_reidlab(list(parsed.training_script_args), where)


def check_reidlab(argv: list[str], where: str) -> None:
    args = _parse(build_parser(), argv, where)
    if args is None:  # --help
        return
    if args.command in ("train", "doctor", "search"):
        config = _config(args.config_file, where)
        overrides = cli_overrides(args.opts)
        _load(config, overrides, where)
        if args.command == "search":
            from reidlab.research.search.space import check_values_against, load_search_space

            check_values_against(load_search_space(args.space), load_config(config, overrides))
    elif args.command == "sweep":
        configs, overrides = split_configs_and_overrides(args.items)
        assert configs or (args.status and args.storage and args.study), f"{where}: sweep names no config"
        for config in configs:
            if not _generated(config):
                assert Path(config).exists(), f"{where}: {config} does not exist"
        _load(None, overrides, where)


def _parse(parser, argv: list[str], where: str):
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return parser.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 0, f"{where}: the parser refuses it: {err.getvalue().strip()}"
        return None


def _config(path: str, where: str) -> str | None:
    if _generated(path):
        return None
    try:
        resolve_config_path(path)
    except Exception as exc:  # ConfigError: say which doc line named it
        pytest.fail(f"{where}: {exc}")
    return path


def _load(config: str | None, overrides: list[str], where: str) -> None:
    try:
        load_config(config, overrides)
    except Exception as exc:
        pytest.fail(f"{where}: the config or its overrides do not load: {exc}")


def _generated(path: str) -> bool:
    return path.replace("\\", "/").startswith(GENERATED)


def _looks_like_path(word: str) -> bool:
    return "\\" in word and not word.startswith("-")


# ------------------------------------------------------------------ Python blocks
PYTHON_BLOCKS = [b for f in doc_files() for b in code_blocks(f) if b.language in ("python", "py")]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: f"{b.file.name}:{b.line}")
def test_python_block_compiles_and_its_reidlab_imports_exist(block):
    tree = ast.parse(block.text, filename=f"{block.file}:{block.line}")
    compile(tree, str(block.file), "exec")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reidlab"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{block.file.name}:{block.line}: {node.module} has no {alias.name}"
