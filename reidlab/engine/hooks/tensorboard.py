"""TensorBoard scalars of each epoch's record, and at the end the run's hyperparameters against its best
mAP and rank-1 (the HParams tab then compares runs), when the optional `tensorboard` extra is installed."""

from __future__ import annotations

import math
from pathlib import Path

from reidlab.engine.hooks.base import HookBase
from reidlab.rundir import hyperparameters


class TensorBoard(HookBase):
    """Writes every numeric field of each epoch record under log_dir (rank 0 only); does nothing without the extra."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.writer = None

    def before_train(self) -> None:
        if not self.trainer.processes.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # the extra is optional
            return
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def after_epoch(self, epoch: int, record: dict) -> None:
        if self.writer is None:
            return
        for name, value in record.items():
            if name != "epoch" and isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(name, value, epoch)
        self.writer.flush()

    def after_train(self, stop) -> None:
        if self.writer is None:
            return
        best = self.trainer.state.best
        if best:
            values = {key: value if isinstance(value, (bool, int, float, str)) else str(value) for key, value in hyperparameters(self.trainer.cfg).items()}
            self.writer.add_hparams(values, {"hparam/best_mAP": best["mAP"], "hparam/best_rank1": best["rank1"]}, run_name=".")
        self.writer.close()
        self.writer = None
