"""The Trainer's own state: what survives a resume, and the running numbers of the epoch in progress."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch


@dataclass
class TrainState:
    """Everything that must survive a resume besides the torch objects' and the hooks' own state."""

    epoch: int = 0  # last completed epoch (1-based)
    iteration: int = 0  # global optimiser steps done
    elapsed_seconds: float = 0.0  # training wall time over all sessions of this run
    history: list[dict] = field(default_factory=list)
    best: dict | None = None  # the best evaluated epoch's metrics (set by the best-model hook)


@dataclass
class EpochProgress:
    """The running numbers of the epoch in progress: sums of the step values (device tensors), steps, images."""

    epoch: int
    steps: int = 0
    images: int = 0
    sums: dict = field(default_factory=dict)
    start: float = field(default_factory=time.monotonic)

    def add(self, values: dict, images: int) -> None:
        """Running sums; tensors stay on the device so there is no host sync per iteration."""
        for name, value in values.items():
            value = value.detach() if isinstance(value, torch.Tensor) else value
            if name == "grad_norm":  # a step with inf/NaN gradients counts in nonfinite_grad_fraction, not in the mean norm
                value = torch.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.steps += 1
        self.images += images
