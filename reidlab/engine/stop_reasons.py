"""Why a run ended: machine words for model_info.json, plain words for STOPPING_REASON.txt."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum


class StopReason(str, Enum):
    PATIENCE_EXHAUSTED = "patience_exhausted"
    MAX_EPOCHS = "max_epochs"
    OUT_OF_MEMORY = "out_of_memory"
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"
    TIME_LIMIT = "time_limit"
    ERROR = "error"
    # Ends asked for by a caller (a sweep's rung, a search's pruner), not by the run itself.
    PAUSED = "paused"
    PRUNED = "pruned"

    @property
    def is_failure(self) -> bool:
        """A failure exits non-zero; the other reasons are a run ending as configured."""
        return self in FAILURES


FAILURES = {StopReason.OUT_OF_MEMORY, StopReason.DIVERGED, StopReason.INTERRUPTED, StopReason.ERROR}

HEADLINES = {
    StopReason.PATIENCE_EXHAUSTED: "Early stopping: {metric} did not improve for {patience} evaluations in a row.",
    StopReason.MAX_EPOCHS: "Finished: reached SOLVER.MAX_EPOCH ({max_epoch}).",
    StopReason.OUT_OF_MEMORY: "Out of memory while training.",
    StopReason.DIVERGED: "The loss stopped being a finite number (training diverged); stopped at once.",
    StopReason.INTERRUPTED: "Interrupted (Ctrl-C or a termination signal).",
    StopReason.TIME_LIMIT: "Reached the wall-clock limit of SOLVER.TIME_LIMIT_MINUTES ({minutes:g} min).",
    StopReason.ERROR: "Stopped by an error.",
    StopReason.PAUSED: "Paused at the epoch budget its caller set (a sweep rung); --resume continues it.",
    StopReason.PRUNED: "Pruned by the search: its results so far were not promising enough to continue.",
}


class StopRequested(Exception):
    """Raised by a hook to end the run with a reason of its caller's (PAUSED or PRUNED) and a message."""

    def __init__(self, reason: StopReason, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Stop:
    """How a run ended: reason, a one-line message with the evidence, the last epoch reached."""

    reason: StopReason
    message: str
    epoch: int

    def to_dict(self) -> dict:
        out = asdict(self)
        out["reason"] = self.reason.value
        return out
