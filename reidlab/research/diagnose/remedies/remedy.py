"""A remedy: a few changed keys on top of a run's own config, each testing one hypothesis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEED_ORIGIN = "seed"


@dataclass
class Remedy:
    """One remedy config: its run name, the keys it changes, the hypothesis it tests and why."""

    name: str
    changes: dict[str, Any]  # dotted key -> new value
    tests: str
    why: str
    origin: str = SEED_ORIGIN  # "seed", or the code of the finding that proposed it
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "origin": self.origin, "changes": dict(self.changes), "tests": self.tests, "why": self.why, "notes": list(self.notes)}


def round_lr(value: float) -> float:
    """Four significant digits: configs read 0.0007, not 0.0007000000000000001."""
    return float(f"{value:.4g}")
