"""The progress bar of each epoch: running loss, learning rate, images/s and the run's ETA (rank 0, on a terminal)."""

from __future__ import annotations

import time

from tqdm import tqdm

from reidlab.engine.hooks.base import HookBase

REFRESH_STEPS = 10  # the postfix text costs a host sync of the running loss


class ProgressBar(HookBase):
    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def before_epoch(self, epoch: int) -> None:
        trainer = self.trainer
        self.bar = tqdm(
            total=trainer.iters_per_epoch,
            desc=f"epoch {epoch}/{trainer.cfg.SOLVER.MAX_EPOCH}",
            leave=False,
            disable=None if trainer.processes.is_main else True,
            dynamic_ncols=True,
        )

    def after_step(self, epoch: int, step: int) -> None:
        if self.bar is None:
            return
        last = step + 1 == self.trainer.iters_per_epoch
        if step % REFRESH_STEPS == 0 or last:
            self.bar.set_postfix_str(self._text(epoch))
        self.bar.update(1)
        if last:
            self._close()

    def after_epoch(self, epoch: int, record: dict) -> None:
        self._close()

    def after_train(self, stop) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _text(self, epoch: int) -> str:
        trainer, progress = self.trainer, self.trainer.progress
        seconds = max(time.monotonic() - progress.start, 1e-9)
        iters = max(trainer.iters_per_epoch, 1)
        epochs_left = trainer.cfg.SOLVER.MAX_EPOCH - epoch + (1 - progress.steps / iters)
        eta = epochs_left * trainer.iters_per_epoch * seconds / progress.steps
        loss = float(progress.sums["loss"]) / progress.steps
        return f"loss {loss:.3f} lr {trainer.current_lr():.2e} {progress.images / seconds:.0f} img/s run ETA {format_seconds(eta)}"


def format_seconds(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
