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
}


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
