"""Early stopping on an evaluation metric, with patience counted in evaluations (Lightning's EarlyStopping shape)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from reidlab.engine.hooks.base import HookBase
from reidlab.engine.stop_reasons import StopReason


def improves(value: float, best: float | None, min_delta: float) -> bool:
    """A new best of a higher-is-better metric: the first value, or one above the best by more than min_delta."""
    return best is None or value > best + min_delta


@dataclass
class EarlyStopping:
    """Tracks the best value of a higher-is-better metric and how long since it improved."""

    patience: int
    min_delta: float = 0.0
    enabled: bool = True
    best: float | None = None
    best_epoch: int | None = None
    evaluations_without_improvement: int = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record one evaluation; True when it is a new best (by more than min_delta)."""
        improved = improves(value, self.best, self.min_delta)
        if improved:
            self.best, self.best_epoch = value, epoch
            self.evaluations_without_improvement = 0
        else:
            self.evaluations_without_improvement += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.enabled and self.evaluations_without_improvement >= self.patience

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)


class EarlyStoppingHook(HookBase):
    """After each evaluation: count the evaluations since the metric last improved; at PATIENCE, ask to stop."""

    name = "early_stopping"

    def __init__(self, metric: str, patience: int, min_delta: float = 0.0, enabled: bool = True):
        self.metric = metric
        self.tracker = EarlyStopping(patience, min_delta, enabled)

    def after_final_evaluation(self, epoch: int, record: dict) -> None:
        self.after_epoch(epoch, record)  # one more evaluation of that epoch, by the usual rule

    def after_epoch(self, epoch: int, record: dict) -> None:
        if self.metric not in record:
            return
        self.tracker.update(record[self.metric], epoch)
        if self.tracker.should_stop:
            tracker = self.tracker
            self.trainer.request_stop(
                StopReason.PATIENCE_EXHAUSTED,
                f"Best {self.metric} {tracker.best:.4f} at epoch {tracker.best_epoch}; "
                f"no improvement above {tracker.min_delta:g} in the {tracker.evaluations_without_improvement} evaluations since.",
            )

    def state_dict(self) -> dict:
        return self.tracker.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.tracker.load_state_dict(state)
