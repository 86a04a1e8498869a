"""What `compare` knows about one run folder, whichever tool wrote it, plus the small readers they share.

A `RunSummary` is read once (by `reidlab_runs` or `fastreid_runs`) and never raises for a
damaged folder: whatever could not be read becomes a line in ``problems`` and the status says
why the run cannot be ranked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from reidlab.evaluation import PerQueryResult

SOURCE_REIDLAB = "reidlab"
SOURCE_FASTREID = "fast-reid"

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


def read_json(path: Path) -> tuple[Any, str | None]:
    """(content, None), or (None, why it could not be read) for a missing or damaged file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path.name} cannot be read ({exc.__class__.__name__})"
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"{path.name} is damaged (not valid JSON: {exc})"


def read_yaml_mapping(path: Path) -> tuple[dict, str | None]:
    """A YAML file's top-level mapping, or ({}, why not)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, f"{path.name} is missing"
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return {}, f"{path.name} cannot be read ({exc.__class__.__name__})"
    if not isinstance(data, dict):
        return {}, f"{path.name} does not hold a mapping"
    return data, None


def flatten_config(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"SOLVER": {"BASE_LR": x}} -> {"SOLVER.BASE_LR": x}: fast-reid's dotted key names."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def compared_hyperparameter_keys() -> tuple[str, ...]:
    """The keys model_info.json records as hyperparameters, to pick the same ones from a config.yaml.

    Imported on first use: the engine module that owns the list also imports torchvision,
    which a comparison of our own runs never needs.
    """
    from reidlab.engine.model_info import HYPERPARAMETER_KEYS

    return tuple(HYPERPARAMETER_KEYS)


def finite_float(value: Any) -> float | None:
    """A finite float, or None for null, NaN, inf, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def whole_number(value: Any) -> int | None:
    """An int (integral floats accepted), or None."""
    number = finite_float(value)
    return int(number) if number is not None and number == int(number) else None
