"""model_info.json and training_history.json: what they record, writing them, and reading them back safely.

Readers never raise for a damaged file: they return what could be read and say, in words, what
could not. Numbers read back are finite floats or None, whatever the file held.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from reidlab.config import Config, config_value
from reidlab.rundir.names import HISTORY_FILE, MODEL_INFO_FILE

# The keys a researcher compares runs by; model_info.json records them, compare and diagnose read them.
HYPERPARAMETER_KEYS = (
    "MODEL.BACKBONE.DEPTH",
    "MODEL.BACKBONE.PRETRAIN",
    "MODEL.HEADS.POOL_LAYER",
    "MODEL.LOSSES.NAME",
    "MODEL.LOSSES.CE.EPSILON",
    "MODEL.LOSSES.CE.SCALE",
    "MODEL.LOSSES.TRI.MARGIN",
    "MODEL.LOSSES.TRI.SCALE",
    "MODEL.LOSSES.TRI.HARD_MINING",
    "INPUT.SIZE_TRAIN",
    "DATALOADER.SAMPLER_TRAIN",
    "DATALOADER.NUM_INSTANCE",
    "SOLVER.OPT",
    "SOLVER.BASE_LR",
    "SOLVER.IMS_PER_BATCH",
    "SOLVER.MAX_EPOCH",
    "SOLVER.SCHED",
    "SOLVER.STEPS",
    "SOLVER.GAMMA",
    "SOLVER.WARMUP_ITERS",
    "SOLVER.WEIGHT_DECAY",
    "SOLVER.AMP.ENABLED",
    "SOLVER.EARLY_STOP.PATIENCE",
    "TEST.EVAL_PERIOD",
    "SEED",
)
METRIC_KEYS = ("mAP", "rank1", "rank5", "rank10", "mINP")


def hyperparameters(cfg: Config) -> dict:
    return {key: config_value(cfg, key) for key in HYPERPARAMETER_KEYS}


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


def read_model_info(folder: Path) -> tuple[dict | None, str | None]:
    """A run's model_info.json as a dict, or (None, why not)."""
    info, problem = read_json(Path(folder) / MODEL_INFO_FILE)
    if problem is None and not isinstance(info, dict):
        problem = f"{MODEL_INFO_FILE} is damaged (not a JSON object)"
    return (None, problem) if problem else (info, None)


def read_history(folder: Path) -> tuple[list[dict], list[str]]:
    """Epoch records with an integer epoch and finite numbers (non-finite values become None), and what was wrong."""
    history, problem = read_json(Path(folder) / HISTORY_FILE)
    if problem is None and not isinstance(history, list):
        problem = f"{HISTORY_FILE} is damaged (not a JSON list)"
    if problem:
        return [], [problem]
    records = []
    for record in history:
        epoch = whole_number(record.get("epoch")) if isinstance(record, dict) else None
        if epoch is None:
            continue
        records.append({**{k: finite_float(v) for k, v in record.items()}, "epoch": epoch})
    damaged = len(history) - len(records)
    return records, [f"{HISTORY_FILE}: {damaged} damaged records skipped"] if damaged else []


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
