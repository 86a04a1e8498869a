"""What `diagnose` knows about one run: its per-epoch history, its settings and its data set size.

Read through compare's readers (`runs.read_run` for the summary, the reidlab and fast-reid
history readers for the records), so a run folder means the same thing to both tools. fast-reid
logs iterations, not epochs: `fastreid_evidence` keeps its iteration curve and averages it into
epochs; its log.txt adds the library versions and the training set's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from reidlab.config import Config
from reidlab.config.tree import flatten_config, read_yaml_mapping
from reidlab.errors import UserError
from reidlab.research.batch_rules import batches_per_epoch
from reidlab.research.runs.fastreid_evidence import read_fastreid_evidence
from reidlab.research.runs.fastreid_log import FASTREID_LOG_FILE
from reidlab.research.runs.folders import is_run_folder, read_run
from reidlab.research.runs.summary import SOURCE_FASTREID, BestResult, RunSummary
from reidlab.rundir import BEST_MODEL_FILE, BEST_PER_QUERY_FILE, CONFIG_FILE, MODEL_INFO_FILE, read_history, read_model_info, whole_number


class RunReadError(UserError):
    """The folder is not a run, or holds nothing that can be diagnosed."""


@dataclass
class RunEvidence:
    """A run as the detectors see it. Numbers in `history` are finite floats or None."""

    path: Path
    summary: RunSummary
    history: list[dict]
    settings: dict[str, Any]  # dotted fast-reid keys; the run's value, else reidlab's default
    config_file: Path | None  # the run's config.yaml, when it exists
    num_classes: int | None = None  # training identities
    num_train_images: int | None = None
    problems: list[str] = field(default_factory=list)
    iterations: list[dict] = field(default_factory=list)  # per-iteration records (fast-reid's metrics.json), our key names
    versions: dict[str, str] = field(default_factory=dict)  # library versions the run reports ("torch", "fastreid", ...)
    amp_mode: str | None = None  # model_info.json's "amp": how SOLVER.AMP.ENABLED ran (e.g. "float16 autocast with GradScaler")

    @property
    def source(self) -> str:
        return self.summary.source

    @property
    def stop_reason(self) -> str | None:
        return self.summary.stop_reason

    @property
    def stop_message(self) -> str | None:
        return self.summary.stop_message

    @property
    def best(self) -> BestResult | None:
        return self.summary.best

    def setting(self, key: str) -> Any:
        return self.settings.get(key)

    @property
    def evaluated(self) -> list[dict]:
        """Epoch records that hold an mAP, in epoch order."""
        return [r for r in self.history if r.get("mAP") is not None]

    def values(self, key: str) -> list[float]:
        """The finite values of one per-epoch quantity, in epoch order."""
        return [r[key] for r in self.history if r.get(key) is not None]

    def last_values(self, key: str, count: int) -> list[float]:
        return self.values(key)[-count:]

    def curve(self, key: str) -> list[tuple[int, float]]:
        """(iteration, value) of one training quantity: the per-iteration curve where the run logged one, else per epoch."""
        if any(key in r for r in self.iterations):
            return [(r["iteration"], r[key]) for r in self.iterations if r.get(key) is not None]
        ipe = self.iters_per_epoch or 1
        return [(whole_number(r.get("iterations")) or r["epoch"] * ipe, r[key]) for r in self.history if r.get(key) is not None]

    def recent_values(self, key: str, epochs: int) -> list[float]:
        """The last `epochs` epoch values; without epoch records, the iteration curve's last quarter."""
        values = self.last_values(key, epochs)
        if values or self.history:
            return values
        points = [value for _, value in self.curve(key)]
        return points[-max(1, len(points) // 4):]

    @property
    def epochs_run(self) -> int:
        return max((r["epoch"] for r in self.history), default=0)

    @property
    def iters_per_epoch(self) -> int | None:
        """Batches per epoch: images // batch (the sampler's rule), else from the history's iteration counter."""
        batch = whole_number(self.setting("SOLVER.IMS_PER_BATCH"))
        if self.num_train_images and batch:
            return batches_per_epoch(self.num_train_images, batch)
        for record in self.history:
            iterations = whole_number(record.get("iterations"))
            if iterations:
                return max(round(iterations / record["epoch"]), 1)
        return None

    @property
    def iterations_run(self) -> int | None:
        if self.iterations:
            return self.iterations[-1]["iteration"] + 1
        counted = [whole_number(r.get("iterations")) for r in self.history]
        counted = [c for c in counted if c is not None]
        if counted:
            return max(counted)
        ipe = self.iters_per_epoch
        return ipe * self.epochs_run if ipe else None


def read_run_evidence(path: str | Path) -> RunEvidence:
    """Everything diagnose reads from a run folder (reidlab's or fast-reid's).

    Raises:
        RunReadError: not a run folder, or a run without a single usable epoch record or stop record.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise RunReadError(f"{folder}: no such run folder")
    if not is_run_folder(folder):
        raise RunReadError(f"{folder} is not a run folder (it holds no {MODEL_INFO_FILE}, training_history.json or fast-reid metrics.json)")
    summary = read_run(folder, folder.name)
    if summary.source == SOURCE_FASTREID:
        evidence = _fastreid_evidence(folder, summary)
    else:
        evidence = _reidlab_evidence(folder, summary)
    if not evidence.history and not evidence.iterations and evidence.stop_reason is None:
        detail = "; ".join(evidence.problems) or "no epoch has finished yet"
        raise RunReadError(f"{folder}: nothing to diagnose: no epoch record and no stop record ({detail})")
    return evidence


def _reidlab_evidence(folder: Path, summary: RunSummary) -> RunEvidence:
    history, _ = read_history(folder)  # the summary already says what could not be read
    info = read_model_info(folder)[0] or {}
    config_file = folder / CONFIG_FILE
    raw, problem = read_yaml_mapping(config_file)
    evidence = RunEvidence(
        path=folder,
        summary=summary,
        history=history,
        settings=_settings(raw, summary.hyperparameters),
        config_file=config_file if config_file.is_file() else None,
        num_classes=whole_number(info.get("num_classes")),
        num_train_images=whole_number(info.get("num_train_images")),
        problems=_reading_problems(summary) + ([problem] if problem else []),
        versions={k: str(v) for k, v in info.get("versions", {}).items()} if isinstance(info.get("versions"), dict) else {},
        amp_mode=info.get("amp") if isinstance(info.get("amp"), str) else None,
    )
    if evidence.num_classes is None:
        evidence.num_classes = _configured_classes(evidence.settings)
    return evidence


def _fastreid_evidence(folder: Path, summary: RunSummary) -> RunEvidence:
    config_file = folder / CONFIG_FILE
    raw, problem = read_yaml_mapping(config_file)
    settings = _settings(raw, summary.hyperparameters)
    found = read_fastreid_evidence(folder, flatten_config(raw), summary.label)
    if found.log.non_finite_iteration is not None and summary.stop_reason is None:
        summary.stop_reason = "diverged"
        summary.stop_message = f"{FASTREID_LOG_FILE}: {found.log.non_finite_line}"
    own = [p for p in _reading_problems(summary) if not p.startswith("epochs unknown")]
    return RunEvidence(
        path=folder,
        summary=summary,
        history=found.history,
        settings=settings,
        config_file=config_file if config_file.is_file() else None,
        num_classes=found.num_classes,
        num_train_images=found.log.train_images,
        problems=own + ([problem] if problem else []) + found.problems,
        iterations=found.iterations,
        versions=dict(found.log.versions),
    )


def _reading_problems(summary: RunSummary) -> list[str]:
    """What could not be read; compare's notes about ranking (per-query results, weights) do not matter here."""
    return [p for p in summary.problems if "per-query" not in p and BEST_PER_QUERY_FILE not in p and BEST_MODEL_FILE not in p]


def _settings(raw: dict, hyperparameters: dict) -> dict[str, Any]:
    """The run's dotted keys over reidlab's defaults (a fast-reid config may lack ours)."""
    settings = dict(_default_settings())
    settings.update({k: v for k, v in hyperparameters.items() if v is not None})
    settings.update(flatten_config(raw))
    for key in ("SOLVER.STEPS", "MODEL.LOSSES.NAME", "DATASETS.TESTS", "DATASETS.NAMES", "MODEL.FREEZE_LAYERS"):
        settings[key] = _as_list(settings.get(key))
    return settings


@lru_cache(maxsize=1)
def _default_settings() -> dict[str, Any]:
    return flatten_config(Config().model_dump(mode="json"))


def _as_list(value: Any) -> list:
    """fast-reid writes lists as tuples or tuple strings; YAML reads them as lists or strings."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        text = value.strip().strip("()[]")
        return [_scalar(part.strip().strip("'\"")) for part in text.split(",") if part.strip()]
    return [] if value is None else [value]


def _scalar(text: str) -> Any:
    """'40' -> 40, '0.5' -> 0.5, anything else stays text."""
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _configured_classes(settings: dict[str, Any]) -> int | None:
    configured = whole_number(settings.get("MODEL.HEADS.NUM_CLASSES"))
    return configured if configured else None
