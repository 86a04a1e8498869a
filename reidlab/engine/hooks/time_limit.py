"""SOLVER.TIME_LIMIT_MINUTES: stop cleanly once the run's training time (over all its sessions) reaches the limit.

When the last completed epoch has not been evaluated, the run is evaluated at the stop
(final_evaluation.py); the limit keeps room for that, as long as the last evaluation took.
"""

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
        if not self.minutes:
            return
        elapsed, reserve = self.trainer.elapsed_seconds(), self.final_evaluation_seconds()
        if elapsed + reserve >= self.minutes * 60:
            room = f", keeping {reserve:.0f} s for evaluating that epoch (the last evaluation took as long)" if reserve else ""
            self.trainer.request_stop(StopReason.TIME_LIMIT, f"{elapsed / 60:.1f} minutes elapsed{room}; the last completed epoch is {self.trainer.state.epoch}.")

    def final_evaluation_seconds(self) -> float:
        """What evaluating the last completed epoch at the stop would cost: 0 when it was evaluated, else the last evaluation's time."""
        history = self.trainer.state.history
        if not history or "mAP" in history[-1]:
            return 0.0
        return next((r["eval_seconds"] for r in reversed(history) if isinstance(r.get("eval_seconds"), (int, float))), 0.0)
