"""Does the LR schedule fit the run? One rule for `train` and `doctor` (warned at the start), STOPPING_REASON.txt
and `diagnose` (its schedule findings): warm-up and LR steps against the run's real iterations.

SOLVER.WARMUP_ITERS counts iterations and SOLVER.STEPS epochs; on a small data set an epoch is a few
iterations, so fast-reid's warm-up of 2000 iterations can outlast the whole run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WARMUP_TOO_LONG = 0.25  # warm-up over more than a quarter of the iterations
SANE_WARMUP = 0.05  # what the fix proposes: 5 % of training
BAG_OF_TRICKS_STEPS = (40 / 120, 90 / 120)  # bag of tricks' steps as fractions of MAX_EPOCH


def warmup_fraction(warmup_iters: int, iters_per_epoch: int, max_epoch: int) -> float:
    """The share of the run's iterations spent warming up (1.0 when warm-up outlasts the run)."""
    total = iters_per_epoch * max_epoch
    return min(1.0, warmup_iters / total) if total > 0 else 0.0


def warmup_too_long(warmup_iters: int, iters_per_epoch: int, max_epoch: int) -> bool:
    return warmup_fraction(warmup_iters, iters_per_epoch, max_epoch) > WARMUP_TOO_LONG


def sane_warmup_iters(warmup_iters: int, iters_per_epoch: int, max_epoch: int) -> int:
    """The warm-up as it is when it fits, else 5 % of training."""
    if not iters_per_epoch or not warmup_too_long(warmup_iters, iters_per_epoch, max_epoch):
        return warmup_iters
    return max(1, round(SANE_WARMUP * iters_per_epoch * max_epoch))


def sane_steps(warmup_iters: int, iters_per_epoch: int, max_epoch: int) -> list[int]:
    """Bag of tricks' steps as fractions of MAX_EPOCH, all after the (sane) warm-up and before the end."""
    warmup = sane_warmup_iters(warmup_iters, iters_per_epoch, max_epoch)
    after_warmup = math.ceil(warmup / iters_per_epoch) if iters_per_epoch else 0
    steps: list[int] = []
    for fraction in BAG_OF_TRICKS_STEPS:
        step = max(round(fraction * max_epoch), after_warmup, steps[-1] + 1 if steps else 1)
        if step < max_epoch:
            steps.append(step)
    return steps


@dataclass(frozen=True)
class ScheduleWarning:
    problem: str
    fix: str

    def line(self) -> str:
        return f"warning: {self.problem}; {self.fix}"


def schedule_warnings(warmup_iters: int, iters_per_epoch: int, max_epoch: int, sched: str, steps: list[int]) -> list[ScheduleWarning]:
    """Plain words, in epochs, with the fix: warm-up that outlasts most of the run, LR steps that never happen."""
    warnings = []
    if iters_per_epoch and warmup_too_long(warmup_iters, iters_per_epoch, max_epoch):
        epochs = warmup_iters / iters_per_epoch
        warnings.append(ScheduleWarning(
            f"SOLVER.WARMUP_ITERS {warmup_iters} is {epochs:.1f} epochs at {iters_per_epoch} iterations an epoch, "
            f"{100 * warmup_fraction(warmup_iters, iters_per_epoch, max_epoch):.0f}% of the run's {max_epoch} epochs: the LR stays below "
            "SOLVER.BASE_LR for most of it",
            f"set SOLVER.WARMUP_ITERS {sane_warmup_iters(warmup_iters, iters_per_epoch, max_epoch)} (5% of training)",
        ))
    late = [s for s in steps if s >= max_epoch] if sched == "MultiStepLR" else []
    if late:
        warnings.append(ScheduleWarning(
            f"SOLVER.STEPS {late} are at or after SOLVER.MAX_EPOCH {max_epoch}, so those LR drops never happen",
            f"set SOLVER.STEPS {sane_steps(warmup_iters, iters_per_epoch, max_epoch)} or SOLVER.SCHED CosineAnnealingLR",
        ))
    return warnings
