"""Early stopping on an evaluation metric, with patience counted in evaluations."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
        improved = self.best is None or value > self.best + self.min_delta
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
