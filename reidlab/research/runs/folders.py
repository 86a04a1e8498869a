"""Find run folders from what the user typed (run folders, folders of runs, globs) and read each one.

A folder is a run when it holds a file only a run writes (model_info.json, training_history.json,
a checkpoint, STOPPING_REASON.txt) or fast-reid's metrics.json; an eval folder of `reidlab eval`
(metrics.json and per_query.npz) counts as one. Any other folder is searched for
runs a few levels down, without descending into runs. Globs are expanded here, not by the
shell, so `reidlab compare logs/market1501/solution_*` works in Windows' cmd.exe too.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from reidlab.research.runs.eval_folder import is_eval_folder, read_eval_folder
from reidlab.research.runs.fastreid_run import is_fastreid_run, read_fastreid_run
from reidlab.research.runs.reidlab_run import read_reidlab_run
from reidlab.research.runs.summary import RunSummary
from reidlab.rundir import BEST_MODEL_FILE, HISTORY_FILE, LAST_CHECKPOINT_FILE, MODEL_INFO_FILE, STOPPING_REASON_FILE

RUN_MARKERS = (MODEL_INFO_FILE, HISTORY_FILE, LAST_CHECKPOINT_FILE, BEST_MODEL_FILE, STOPPING_REASON_FILE)
MAX_SEARCH_DEPTH = 4  # logs/ -> market1501/ -> run is depth 2


@dataclass
class FoundRuns:
    """Run folders found (in order, without duplicates) and the arguments that matched none."""

    folders: list[Path] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and (any((path / name).is_file() for name in RUN_MARKERS) or is_fastreid_run(path) or is_eval_folder(path))


def find_run_folders(arguments: Sequence[str | Path]) -> FoundRuns:
    """Expand each argument: a run folder, a folder holding runs, or a glob of either."""
    found, seen = FoundRuns(), set()
    for argument in arguments:
        matches = [folder for path in _expand_glob(str(argument)) for folder in _runs_under(path)]
        if not matches:
            found.unmatched.append(str(argument))
        for folder in matches:
            key = os.path.normcase(str(folder.resolve()))
            if key not in seen:
                seen.add(key)
                found.folders.append(folder)
    return found


def common_parent(folders: Sequence[Path]) -> Path:
    """The deepest folder holding every run (the parent of a single run, never a run itself)."""
    resolved = [folder.resolve() for folder in folders]
    if len(resolved) == 1:
        return resolved[0].parent
    try:
        parent = Path(os.path.commonpath([str(p) for p in resolved]))
    except ValueError:  # different drives on Windows: no common folder
        return Path.cwd()
    return parent.parent if parent in resolved else parent


def run_labels(folders: Sequence[Path], parent: Path) -> list[str]:
    """Each run's path relative to the common parent: unique, and short for sibling runs."""
    labels = []
    for folder in folders:
        try:
            labels.append(folder.resolve().relative_to(parent).as_posix())
        except ValueError:
            labels.append(folder.resolve().as_posix())
    return labels


def read_run(path: Path, label: str) -> RunSummary:
    """Read one run folder, ours or fast-reid's, or an eval folder; never raises for a damaged folder."""
    if is_eval_folder(path):
        return read_eval_folder(path, label)
    if not (path / MODEL_INFO_FILE).exists() and is_fastreid_run(path):
        return read_fastreid_run(path, label)
    return read_reidlab_run(path, label)


def _expand_glob(argument: str) -> list[Path]:
    """A path that exists is taken literally (names may contain '['); otherwise it is a glob."""
    if os.path.exists(argument) or not any(c in argument for c in "*?["):
        return [Path(argument)]
    return [Path(match) for match in sorted(glob.glob(argument, recursive=True))]


def _runs_under(path: Path) -> list[Path]:
    """The run itself, or the runs below a folder (sorted, not descending into runs or hidden folders)."""
    if is_run_folder(path):
        return [path]
    if not path.is_dir():
        return []
    runs: list[Path] = []
    base_depth = len(path.parts)
    for root, dirs, _files in os.walk(path):
        here = Path(root)
        dirs.sort()
        if here != path and is_run_folder(here):
            runs.append(here)
            dirs.clear()
            continue
        if len(here.parts) - base_depth >= MAX_SEARCH_DEPTH:
            dirs.clear()
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    return runs
