"""One run of a sweep: where its folder stands, training it further, and reading back what it spent.

The run folder is the truth: a run the folder shows as finished is never trained again, one with
a last_checkpoint.pth is resumed (exactly, by the engine), and only a run without a folder starts
from scratch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from reidlab.engine.hooks import PauseAfterEpoch
from reidlab.research.runs import FAILURE_REASONS, RunSummary, read_run
from reidlab.research.runs.resumable import DONE, RESUMABLE, STUCK, folder_state
from reidlab.research.sweep.state import FAILED, FINISHED, INTERRUPTED, PAUSED, RUNNING, SweepRun
from reidlab.rundir import LAST_CHECKPOINT_FILE, read_history

# reidlab.engine.train.train, or a stand-in with its signature (tests).
Launcher = Callable[..., Any]

class SweepInterrupted(Exception):
    """Ctrl-C (or a termination signal) reached a run: the sweep stops and can be resumed."""


def status_of_reason(reason: str | None) -> str:
    if reason == "paused":
        return PAUSED
    if reason == "interrupted":
        return INTERRUPTED
    if reason in FAILURE_REASONS:
        return FAILED
    return FINISHED


def refresh(entry: SweepRun) -> RunSummary:
    """Copy what the run folder says (epochs, seconds, best, stop) into the sweep's record."""
    summary = read_run(Path(entry.run_dir), entry.name)
    entry.epochs = summary.epochs_run or 0
    entry.seconds = round(summary.train_seconds or 0.0, 3)
    entry.best_mAP = summary.best.mAP if summary.best else None
    entry.best_epoch = summary.best.epoch if summary.best else None
    if summary.stop_reason:
        entry.stop_reason = summary.stop_reason
        entry.message = summary.stop_message or ""
    return summary


def history_of(entry: SweepRun) -> list[dict]:
    return read_history(Path(entry.run_dir))[0]


def advance(entry: SweepRun, launcher: Launcher, overrides: list[str], until_epoch: int | None, save: Callable[[], None]) -> None:
    """Train the run up to `until_epoch` (None: to its own end), resuming it when its folder allows.

    Records the outcome in `entry` and calls `save` before and after training.

    Raises:
        SweepInterrupted: the run was interrupted (Ctrl-C); the sweep must stop.
    """
    run_dir = Path(entry.run_dir)
    state, reason = folder_state(run_dir)
    if state == DONE:
        refresh(entry)
        entry.status = status_of_reason(reason)
        save()
        return
    if state == STUCK:
        entry.status = FAILED
        entry.message = f"{run_dir} holds a run without {LAST_CHECKPOINT_FILE}, so it can neither resume nor restart; move it away to retry"
        save()
        return
    if state == RESUMABLE:
        refresh(entry)
        if until_epoch is not None and entry.epochs >= until_epoch:
            entry.status = PAUSED
            save()
            return
    entry.status = RUNNING
    save()
    try:
        hooks = [PauseAfterEpoch(until_epoch)] if until_epoch is not None else []
        result = launcher(entry.config, run_name=entry.name, overrides=list(overrides), resume=state == RESUMABLE, hooks=hooks)
    except KeyboardInterrupt:
        entry.status = INTERRUPTED
        _refresh_if_present(entry)
        save()
        raise SweepInterrupted(entry.name) from None
    except Exception as exc:  # a config, data or folder error: recorded, and the sweep goes on
        entry.status = FAILED
        entry.stop_reason = "error"
        entry.message = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
        _refresh_if_present(entry)
        save()
        return
    _refresh_if_present(entry)
    entry.stop_reason = result.stop.reason.value
    entry.message = result.stop.message
    entry.status = status_of_reason(entry.stop_reason)
    save()
    if entry.status == INTERRUPTED:
        raise SweepInterrupted(entry.name)


def _refresh_if_present(entry: SweepRun) -> None:
    if Path(entry.run_dir).is_dir():
        refresh(entry)
