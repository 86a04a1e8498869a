"""A hook made of plain functions (as detectron2's CallbackHook): for scripts and tests that need one point."""

from __future__ import annotations

from typing import Callable

from reidlab.engine.hooks.base import HookBase


class CallbackHook(HookBase):
    """after_step(trainer, epoch, step) and after_epoch(trainer, epoch, record), each optional."""

    def __init__(self, after_step: Callable | None = None, after_epoch: Callable | None = None):
        self._after_step, self._after_epoch = after_step, after_epoch

    def after_step(self, epoch: int, step: int) -> None:
        if self._after_step is not None:
            self._after_step(self.trainer, epoch, step)

    def after_epoch(self, epoch: int, record: dict) -> None:
        if self._after_epoch is not None:
            self._after_epoch(self.trainer, epoch, record)
