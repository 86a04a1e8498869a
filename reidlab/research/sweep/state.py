"""sweep.json: each run's status and the compute it spent, rewritten atomically after every change.

It is also how an interrupted sweep resumes: the runs it lists keep their status (a run stopped
at a rung stays stopped), and the run folders say how far each run got.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from reidlab.rundir import write_json_atomic

SWEEP_FILE = "sweep.json"

# Run statuses.
PENDING = "pending"  # not started
RUNNING = "running"  # being trained now (or the sweep was killed while it was)
PAUSED = "paused"  # halving: reached its rung, waiting for the decision
STOPPED_AT_RUNG = "stopped_at_rung"  # halving: lost at a rung; its checkpoint can still be resumed by hand
FINISHED = "finished"  # ended as configured (early stop, MAX_EPOCH, time limit)
FAILED = "failed"  # OOM, divergence, an error, or a config that does not load
INTERRUPTED = "interrupted"  # Ctrl-C: the sweep stopped here and resumes it next time

# Sweep statuses.
SWEEP_RUNNING = "running"
SWEEP_FINISHED = "finished"
SWEEP_INTERRUPTED = "interrupted"


@dataclass
class SweepRun:
    """One config of the sweep and what happened to it."""

    name: str
    config: str
    run_dir: str
    status: str = PENDING
    stop_reason: str | None = None
    message: str = ""
    epochs: int = 0  # epochs the run has trained (its own count, all sessions)
    seconds: float = 0.0  # its training wall time, all sessions
    best_mAP: float | None = None
    best_epoch: int | None = None
    max_epoch: int | None = None
    eval_period: int | None = None
    stopped_at_rung: int | None = None  # halving: the rung (epoch) at which it lost


@dataclass
class SweepState:
    """The whole sweep as written to sweep.json."""

    strategy: str
    overrides: list[str]
    runs: list[SweepRun]
    eta: int | None = None
    min_epochs: int | None = None
    rungs: list[int] = field(default_factory=list)
    status: str = SWEEP_RUNNING
    started: str = ""
    updated: str = ""
    winner: str | None = None
    sequential_epochs_estimate: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def epochs_spent(self) -> int:
        return sum(run.epochs for run in self.runs)

    @property
    def seconds_spent(self) -> float:
        return sum(run.seconds for run in self.runs)

    def run(self, name: str) -> SweepRun:
        return next(run for run in self.runs if run.name == name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(epochs_spent=self.epochs_spent, seconds_spent=round(self.seconds_spent, 3))
        return data

    def save(self, path: Path) -> None:
        self.updated = now_iso()
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> "SweepState":
        """Raises ValueError (or OSError) for a file that is not a sweep.json."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
            raise ValueError("not a sweep.json (no runs list)")
        run_keys = {f.name for f in fields(SweepRun)}
        runs = [SweepRun(**{k: v for k, v in run.items() if k in run_keys}) for run in data["runs"]]
        state_keys = {f.name for f in fields(cls)} - {"runs"}
        return cls(runs=runs, **{k: v for k, v in data.items() if k in state_keys})


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
