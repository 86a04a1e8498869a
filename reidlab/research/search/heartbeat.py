"""Heartbeats: tell a trial whose worker died (power cut, kill -9) from one still training.

Each worker stamps its running trial's user attribute ``heartbeat`` (seconds since the epoch)
every `interval_s`. A RUNNING trial whose stamp is older than the grace period belongs to a
worker that is gone; the search then marks it failed (reason ``worker_lost``) and queues its
configuration again. This works the same on every storage (Optuna's own heartbeat exists only
for RDBStorage and only inside study.optimize).
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import optuna
from optuna.trial import FrozenTrial, TrialState

HEARTBEAT_ATTR = "heartbeat"


class Heartbeat:
    """While active, stamps the trial every `interval_s` seconds from a background thread."""

    def __init__(self, trial: optuna.Trial, interval_s: float) -> None:
        self.trial = trial
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-trial-{trial.number}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._stamp()
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._stamp()

    def _stamp(self) -> None:
        try:
            self.trial.set_user_attr(HEARTBEAT_ATTR, time.time())
        except Exception:  # a storage hiccup must not stop training; the next beat tries again
            pass


def last_sign_of_life(trial: FrozenTrial) -> float | None:
    """The trial's last heartbeat, or its start time for a trial that never beat."""
    stamp = trial.user_attrs.get(HEARTBEAT_ATTR)
    if isinstance(stamp, (int, float)):
        return float(stamp)
    return trial.datetime_start.timestamp() if trial.datetime_start else None


def stale_trials(trials: list[FrozenTrial], grace_s: float, now: float | None = None) -> list[FrozenTrial]:
    """RUNNING trials with no sign of life for longer than `grace_s` seconds."""
    now = time.time() if now is None else now
    stale = []
    for trial in trials:
        seen = last_sign_of_life(trial) if trial.state == TrialState.RUNNING else None
        if seen is not None and now - seen > grace_s:
            stale.append(trial)
    return stale
