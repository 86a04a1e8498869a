"""TensorBoard scalars of each epoch's record, when the optional `tensorboard` extra is installed."""

from __future__ import annotations

import math
from pathlib import Path


class TensorBoardScalars:
    """Writes every numeric field of an epoch record; does nothing when tensorboard is missing or log_dir is None."""

    def __init__(self, log_dir: Path | None):
        self.writer = None
        if log_dir is None:  # a process other than rank 0 under torchrun
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # the extra is optional
            return
        self.writer = SummaryWriter(log_dir=str(log_dir))

    @property
    def enabled(self) -> bool:
        return self.writer is not None

    def write_epoch(self, record: dict) -> None:
        if self.writer is None:
            return
        for name, value in record.items():
            if name != "epoch" and isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(name, value, record["epoch"])
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
