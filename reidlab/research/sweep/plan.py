"""Planning and resuming a sweep: which configs, which run folders, and what sweep.json already records.

A run is never repeated: its status is reconciled with what its folder shows (finished, resumable,
stuck or absent) before the strategy drives it further.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Sequence

from reidlab.config import ConfigError, load_config
from reidlab.errors import UserError
from reidlab.research.runs.resumable import ABSENT, DONE, RESUMABLE, STUCK, folder_state
from reidlab.research.sweep.runs import refresh, status_of_reason
from reidlab.research.sweep.state import FAILED, PENDING, RUNNING, STOPPED_AT_RUNG, SWEEP_FILE, SweepRun, SweepState, now_iso
from reidlab.rundir import RunDirError, resolve_run_dir

CONFIG_SUFFIXES = (".yml", ".yaml")


class SweepError(UserError):
    """A sweep that cannot start: no configs, clashing run names, or a sweep.json of another sweep. One line."""


def find_sweep_configs(inputs: Sequence[str | Path]) -> list[Path]:
    """YAML files given directly, found in folders (not recursively), or matched by globs; in a stable order."""
    if not inputs:
        raise SweepError("give at least one config file or folder of configs")
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.suffix in CONFIG_SUFFIXES and p.is_file())
            if not matches:
                raise SweepError(f"{path}: no .yml or .yaml configs in this folder")
        elif path.is_file():
            matches = [path]
        else:
            matches = [Path(m) for m in sorted(glob.glob(str(item))) if Path(m).suffix in CONFIG_SUFFIXES]
            if not matches:
                raise SweepError(f"{item}: no such config file or folder")
        found += [m for m in matches if m.resolve() not in {f.resolve() for f in found}]
    return found


def plan_runs(configs: list[Path], overrides: list[str]) -> list[SweepRun]:
    runs: list[SweepRun] = []
    for config in configs:
        name = config.stem
        clash = next((r for r in runs if r.name == name), None)
        if clash is not None:
            raise SweepError(f"{config} and {clash.config} would both be run {name!r}; rename one (the file name is the run name)")
        entry = SweepRun(name=name, config=config.as_posix(), run_dir="")
        try:
            cfg = load_config(config, overrides)
            entry.run_dir = resolve_run_dir(cfg, name, config).as_posix()
            entry.max_epoch, entry.eval_period = cfg.SOLVER.MAX_EPOCH, cfg.TEST.EVAL_PERIOD
        except (ConfigError, RunDirError) as exc:
            entry.status, entry.stop_reason, entry.message = FAILED, "error", f"config does not load: {exc}"
        runs.append(entry)
    if all(r.status == FAILED for r in runs):
        raise SweepError(f"no config of the sweep loads; the first: {runs[0].message}")
    return runs


def sweep_file_for(runs: list[SweepRun], out: str | Path | None) -> Path:
    """sweep.json in `out`, else beside the runs (their common parent folder)."""
    if out is not None:
        return Path(out) / SWEEP_FILE
    dirs = [Path(r.run_dir).absolute() for r in runs if r.run_dir]
    if len(dirs) == 1:
        return dirs[0].parent / SWEEP_FILE
    try:
        common = Path(os.path.commonpath([str(d) for d in dirs]))
    except ValueError:  # runs on different drives
        return Path.cwd() / SWEEP_FILE
    return (common.parent if common in dirs else common) / SWEEP_FILE


def open_state(path: Path, planned: list[SweepRun], strategy: str, eta: int | None, min_epochs: int | None, overrides: list[str]) -> SweepState:
    """A new sweep, or the one recorded in sweep.json when it is the same sweep; reconciled with the run folders."""
    state = SweepState(strategy=strategy, overrides=overrides, runs=planned, eta=eta, min_epochs=min_epochs, started=now_iso())
    if path.exists():
        try:
            recorded = SweepState.load(path)
        except (OSError, ValueError, TypeError) as exc:
            raise SweepError(f"{path} exists but is not a readable sweep.json ({exc}); move it away or pass --out") from None
        _check_same_sweep(path, recorded, state)
        state.started, state.rungs, state.notes = recorded.started, recorded.rungs, recorded.notes
        for entry in (e for e in planned if e.run_dir):
            old = recorded.run(entry.name)
            entry.status, entry.stopped_at_rung = old.status, old.stopped_at_rung
            entry.stop_reason, entry.message = old.stop_reason, old.message
    for entry in planned:
        if entry.run_dir:
            _reconcile(entry)
    return state


def _check_same_sweep(path: Path, recorded: SweepState, new: SweepState) -> None:
    mine = {(r.name, Path(r.config).resolve().as_posix()) for r in new.runs}
    theirs = {(r.name, Path(r.config).resolve().as_posix()) for r in recorded.runs}
    same = (mine == theirs, recorded.strategy == new.strategy, recorded.overrides == new.overrides, (recorded.eta, recorded.min_epochs) == (new.eta, new.min_epochs))
    if not all(same):
        what = ["configs", "strategy", "overrides", "eta / min-epochs"][same.index(False)]
        raise SweepError(
            f"{path} records another sweep (its {what} differ: strategy {recorded.strategy}, runs {sorted(r.name for r in recorded.runs)}); "
            "rerun it as it was started, or pass --out to keep this sweep elsewhere"
        )


def _reconcile(entry: SweepRun) -> None:
    """The status the run folder supports: a run is never repeated, a failed run without a folder is retried."""
    state, reason = folder_state(Path(entry.run_dir))
    if state == ABSENT:
        entry.status, entry.stop_reason, entry.message = PENDING, None, ""
        entry.epochs, entry.seconds = 0, 0.0
        return
    refresh(entry)
    if state == DONE:
        entry.status = status_of_reason(reason)
    elif state == RESUMABLE:
        entry.status = STOPPED_AT_RUNG if entry.stopped_at_rung is not None else (status_of_reason(reason) if reason else RUNNING)
    elif state == STUCK:
        entry.status = FAILED
