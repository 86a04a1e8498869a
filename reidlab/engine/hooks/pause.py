"""Pause after an epoch (a sweep's rung): the run ends as `paused`, and --resume continues it on the same schedule."""

from __future__ import annotations

from reidlab.engine.hooks.base import HookBase
from reidlab.engine.stop_reasons import StopReason


class PauseAfterEpoch(HookBase):
    """Asks to stop after `epoch` without touching the schedule, which still runs to SOLVER.MAX_EPOCH on resume."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def after_epoch(self, epoch: int, record: dict) -> None:
        max_epoch = self.trainer.cfg.SOLVER.MAX_EPOCH
        if epoch >= self.epoch and epoch < max_epoch:
            self.trainer.request_stop(StopReason.PAUSED, f"Paused after epoch {epoch} as asked; resume to continue towards epoch {max_epoch}.")
