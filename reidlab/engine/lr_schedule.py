"""fast-reid's learning-rate schedule: linear warmup per iteration times an epoch-based decay.

torch has no single scheduler that warms up per iteration and decays per epoch, so the
factor is written here and driven by torch's LambdaLR (stepped once per iteration).
"""

from __future__ import annotations

import bisect
import math

import torch

from reidlab.config import Config


def lr_factor(cfg: Config, iteration: int, iters_per_epoch: int) -> float:
    """Multiplier of BASE_LR at a global iteration (0-based)."""
    epoch = iteration // max(iters_per_epoch, 1)
    return _warmup_factor(cfg, iteration) * _decay_factor(cfg, epoch)


def _warmup_factor(cfg: Config, iteration: int) -> float:
    solver = cfg.SOLVER
    if iteration >= solver.WARMUP_ITERS:
        return 1.0
    if solver.WARMUP_METHOD == "constant":
        return solver.WARMUP_FACTOR
    alpha = iteration / solver.WARMUP_ITERS
    return solver.WARMUP_FACTOR * (1 - alpha) + alpha


def _decay_factor(cfg: Config, epoch: int) -> float:
    solver = cfg.SOLVER
    if solver.SCHED == "MultiStepLR":
        return solver.GAMMA ** bisect.bisect_right(sorted(solver.STEPS), epoch)
    # CosineAnnealingLR after DELAY_EPOCHS at constant LR, reaching ETA_MIN_LR at MAX_EPOCH.
    span = max(solver.MAX_EPOCH - solver.DELAY_EPOCHS, 1)
    progress = min(max(epoch - solver.DELAY_EPOCHS, 0) / span, 1.0)
    floor = solver.ETA_MIN_LR / solver.BASE_LR if solver.BASE_LR > 0 else 0.0
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def build_lr_scheduler(cfg: Config, optimizer: torch.optim.Optimizer, iters_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR stepped after every iteration; its state resumes exactly from a checkpoint."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: lr_factor(cfg, it, iters_per_epoch))
