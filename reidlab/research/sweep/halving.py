"""Successive halving by epochs: the rung schedule and the decision at each rung (pure functions).

Every run trains to the first rung; at each rung the best 1/eta by mAP so far go on to the next
rung (eta times further), the rest stop there. Rungs are multiples of every run's
TEST.EVAL_PERIOD, so each run has just been evaluated when it is ranked.
"""

from __future__ import annotations

import math
from typing import Sequence

MAX_RUNGS = 32


def rung_epochs(eval_periods: Sequence[int], max_epochs: Sequence[int], eta: int, min_epochs: int | None = None) -> list[int]:
    """Epochs at which survivors are chosen: first, first*eta, ... below the longest MAX_EPOCH.

    The first rung is the smallest multiple of every EVAL_PERIOD that is at least `min_epochs`.
    """
    if eta < 2:
        raise ValueError(f"eta must be 2 or more, got {eta}")
    period = math.lcm(*[max(int(p), 1) for p in eval_periods]) if eval_periods else 1
    first = period * max(1, math.ceil((min_epochs or period) / period))
    longest = max(max_epochs, default=0)
    rungs: list[int] = []
    rung = first
    while rung < longest and len(rungs) < MAX_RUNGS:
        rungs.append(rung)
        rung *= eta
    return rungs


def survivors_count(contenders: int, eta: int) -> int:
    """How many go on from a rung: the best ceil(n / eta), at least one."""
    return max(1, math.ceil(contenders / eta))


def rank_at_rung(best_maps: dict[str, float | None], order: Sequence[str]) -> list[str]:
    """Names by best mAP so far, highest first; no mAP ranks last; ties keep the sweep's order."""
    position = {name: index for index, name in enumerate(order)}
    return sorted(best_maps, key=lambda name: (best_maps[name] is None, -(best_maps[name] or 0.0), position[name]))


def best_map_up_to(history: Sequence[dict], epoch: int) -> float | None:
    """The best mAP a run had reached by `epoch` (its history may already go further on a resumed sweep)."""
    values = [r["mAP"] for r in history if r.get("mAP") is not None and r.get("epoch") is not None and r["epoch"] <= epoch]
    return max(values, default=None)
