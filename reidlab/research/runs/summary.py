"""What `compare` knows about one run folder, whichever tool wrote it.

A `RunSummary` is read once (by `reidlab_runs` or `fastreid_runs`) and never raises for a
damaged folder: whatever could not be read becomes a line in ``problems`` and the status says
why the run cannot be ranked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reidlab.evaluation import PerQueryResult

SOURCE_REIDLAB = "reidlab"
SOURCE_FASTREID = "fast-reid"
SOURCE_EVAL = "reidlab eval"  # an eval folder of `reidlab eval`: one evaluation of one checkpoint

# Run states, as compare reports them.
FINISHED = "finished"
RUNNING = "running"
FAILED = "failed"
INTERRUPTED = "interrupted"
DAMAGED = "damaged"
UNKNOWN = "unknown"

# Stop reasons (model_info.json) that mean the run broke rather than ended as configured.
FAILURE_REASONS = frozenset({"out_of_memory", "diverged", "error"})


@dataclass(frozen=True)
class BestResult:
    """Metrics of a run's best evaluated epoch, as fractions in [0, 1] (None where not recorded)."""

    mAP: float
    rank1: float | None = None
    rank5: float | None = None
    rank10: float | None = None
    mINP: float | None = None
    epoch: int | None = None
    epoch_is_approximate: bool = False


@dataclass
class RunSummary:
    """One run folder as compare sees it: status, best result, cost, curves, per-query results."""

    path: Path
    label: str  # unique display name (the folder relative to the comparison's common parent)
    source: str = SOURCE_REIDLAB
    state: str = UNKNOWN
    stop_reason: str | None = None
    stop_message: str | None = None
    best: BestResult | None = None
    epochs_run: int | None = None
    epochs_are_approximate: bool = False
    max_epoch: int | None = None
    train_seconds: float | None = None
    test_set: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    map_curve: list[tuple[float, float]] = field(default_factory=list)  # (epoch, mAP fraction)
    loss_curve: list[tuple[float, float]] = field(default_factory=list)  # (epoch, training loss)
    per_query: PerQueryResult | None = None
    best_model_path: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Rankable: at least one evaluation with a finite mAP."""
        return self.best is not None and math.isfinite(self.best.mAP)

    @property
    def status_text(self) -> str:
        """Short words for the table: the state, and whether it has been evaluated."""
        state = "not recorded (fast-reid)" if self.source == SOURCE_FASTREID and self.state == UNKNOWN else self.state
        return state if self.usable else f"{state}, no evaluation"
