"""SOLVER.TIME_LIMIT_MINUTES: stop cleanly once the run's training time (over all its sessions) reaches the limit."""

from __future__ import annotations

from reidlab.engine.hooks.base import HookBase
from reidlab.engine.stop_reasons import StopReason


class TimeLimit(HookBase):
    """Checked after every step and every epoch; the run ends as `time_limit` with every file written."""

    def __init__(self, minutes: float):
        self.minutes = minutes

    def after_step(self, epoch: int, step: int) -> None:
        self._check()

    def after_epoch(self, epoch: int, record: dict) -> None:
        self._check()

    def _check(self) -> None:
        elapsed = self.trainer.elapsed_seconds()
        if self.minutes and elapsed >= self.minutes * 60:
            self.trainer.request_stop(StopReason.TIME_LIMIT, f"{elapsed / 60:.1f} minutes elapsed; the last completed epoch is {self.trainer.state.epoch}.")
