"""Read a reidlab run folder (model_info.json, training_history.json, eval/best_per_query.npz).

Why the history matters even when model_info.json is fine: model_info.json is written at the
start and at the end of a run, so while a run is still going its "best" is stale; the history
is rewritten after every epoch and holds the current best. A damaged or missing model_info.json
is reported, and the run is still ranked from its history when the history can be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from reidlab.config.tree import flatten_config, read_yaml_mapping
from reidlab.evaluation import PerQueryResult
from reidlab.research.runs.summary import DAMAGED, FAILED, FAILURE_REASONS, FINISHED, INTERRUPTED, RUNNING, SOURCE_REIDLAB, UNKNOWN, BestResult, RunSummary
from reidlab.rundir import BEST_MODEL_FILE, BEST_PER_QUERY_FILE, CONFIG_FILE, HISTORY_FILE, HYPERPARAMETER_KEYS, MODEL_INFO_FILE, finite_float, read_history, read_model_info, whole_number

# Per-query mAP and the recorded best mAP come from the same evaluation; allow float rounding only.
_MAP_AGREEMENT = 1e-4


def read_reidlab_run(path: Path, label: str) -> RunSummary:
    """Everything compare needs from one reidlab run folder; never raises for a damaged folder."""
    run = RunSummary(path=path, label=label, source=SOURCE_REIDLAB)
    info, info_problem = read_model_info(path)
    history, history_problems = read_history(path)
    run.problems += ([info_problem] if info_problem else []) + history_problems
    _set_state(run, info)
    _set_best(run, info, history)
    _set_cost(run, info, history)
    _set_description(run, info, path)
    run.map_curve = [(r["epoch"], r["mAP"]) for r in history if finite_float(r.get("mAP")) is not None]
    run.loss_curve = [(r["epoch"], r["loss"]) for r in history if finite_float(r.get("loss")) is not None]
    best_model = path / BEST_MODEL_FILE
    run.best_model_path = best_model if best_model.is_file() else None
    if run.usable and run.best_model_path is None:
        run.problems.append(f"{BEST_MODEL_FILE} is missing")
    if run.usable:
        run.per_query = _read_per_query(path, run)
    return run


def _set_state(run: RunSummary, info: dict | None) -> None:
    if info is None:
        run.state = DAMAGED
        return
    stop = info.get("stop") if isinstance(info.get("stop"), dict) else {}
    run.stop_reason = stop.get("reason") if isinstance(stop.get("reason"), str) else None
    run.stop_message = stop.get("message") if isinstance(stop.get("message"), str) else None
    status = info.get("status")
    if status == "running":
        run.state = RUNNING
    elif status == "finished":
        if run.stop_reason in FAILURE_REASONS:
            run.state = FAILED
        elif run.stop_reason == "interrupted":
            run.state = INTERRUPTED
        else:
            run.state = FINISHED
    else:
        run.state = UNKNOWN
        run.problems.append(f"{MODEL_INFO_FILE} has no known status ({status!r})")


def _set_best(run: RunSummary, info: dict | None, history: list[dict]) -> None:
    """A finished run's recorded best; otherwise (running, damaged) the best evaluated epoch so far."""
    recorded = _best_from_info(info) if info is not None and run.state != RUNNING else None
    run.best = recorded or _best_from_history(history)
    if run.best is not None and recorded is None and run.state == DAMAGED:
        run.problems.append(f"best result taken from {HISTORY_FILE}")


def _best_from_info(info: dict) -> BestResult | None:
    best = info.get("best")
    if not isinstance(best, dict) or finite_float(best.get("mAP")) is None:
        return None
    return _best_result(best)


def _best_from_history(history: list[dict]) -> BestResult | None:
    evaluated = [r for r in history if r.get("mAP") is not None]
    if not evaluated:
        return None
    # Highest mAP; the earliest epoch among equals, as the trainer keeps the first best.
    return _best_result(max(evaluated, key=lambda r: (r["mAP"], -r["epoch"])))


def _best_result(record: dict) -> BestResult:
    return BestResult(
        mAP=float(record["mAP"]),
        rank1=finite_float(record.get("rank1")),
        rank5=finite_float(record.get("rank5")),
        rank10=finite_float(record.get("rank10")),
        mINP=finite_float(record.get("mINP")),
        epoch=whole_number(record.get("epoch")),
    )


def _set_cost(run: RunSummary, info: dict | None, history: list[dict]) -> None:
    """Epochs and training seconds: model_info.json at the end of a run, the history before."""
    last_epoch = max((r["epoch"] for r in history), default=None)
    history_seconds = [r.get("train_seconds") for r in history]
    if info is not None and run.state != RUNNING:
        run.epochs_run = whole_number(info.get("epochs_run"))
        run.train_seconds = finite_float(info.get("train_seconds"))
    if run.epochs_run is None:
        run.epochs_run = last_epoch
    if run.train_seconds is None and history_seconds and None not in history_seconds:
        run.train_seconds = float(sum(history_seconds))


def _set_description(run: RunSummary, info: dict | None, path: Path) -> None:
    """Hyperparameters and test set from model_info.json, else from config.yaml."""
    hyperparameters = info.get("hyperparameters") if info is not None else None
    test_sets = info.get("test_sets") if info is not None else None
    if not isinstance(hyperparameters, dict) or not isinstance(test_sets, list):
        config, _ = read_yaml_mapping(path / CONFIG_FILE)
        flat = flatten_config(config)
        if not isinstance(hyperparameters, dict):
            hyperparameters = {key: flat[key] for key in HYPERPARAMETER_KEYS if key in flat}
        if not isinstance(test_sets, list):
            test_sets = flat.get("DATASETS.TESTS") if isinstance(flat.get("DATASETS.TESTS"), list) else []
    run.hyperparameters = hyperparameters
    run.test_set = str(test_sets[0]) if test_sets else None
    run.max_epoch = whole_number(hyperparameters.get("SOLVER.MAX_EPOCH"))


def _read_per_query(path: Path, run: RunSummary) -> PerQueryResult | None:
    """The best epoch's per-query results, if they exist and belong to the best epoch."""
    file = path / BEST_PER_QUERY_FILE
    if not file.is_file():
        run.problems.append(f"{BEST_PER_QUERY_FILE} is missing: no confidence interval, no paired test")
        return None
    try:
        with np.load(file, allow_pickle=False) as arrays:
            per_query = PerQueryResult.from_arrays(arrays)
            epoch = whole_number(_scalar(arrays["epoch"])) if "epoch" in arrays else None
    except Exception as exc:  # a damaged .npz raises zipfile, OSError, ValueError, KeyError...
        run.problems.append(f"{BEST_PER_QUERY_FILE} is damaged ({exc.__class__.__name__}): no interval, no paired test")
        return None
    assert run.best is not None
    if epoch is not None and run.best.epoch is not None and epoch != run.best.epoch:
        run.problems.append(
            f"{BEST_PER_QUERY_FILE} is from epoch {epoch} but the best epoch is {run.best.epoch}: not used"
        )
        return None
    if per_query.num_valid == 0 or abs(per_query.mAP - run.best.mAP) > _MAP_AGREEMENT:
        run.problems.append(
            f"{BEST_PER_QUERY_FILE} gives mAP {per_query.mAP:.4f}, not the recorded {run.best.mAP:.4f}: not used"
        )
        return None
    return per_query


def _scalar(value: Any) -> Any:
    array = np.asarray(value)
    return array.item() if array.size == 1 else None
