"""Read an eval folder of `reidlab eval` (metrics.json, per_query.npz, config.yaml) so it ranks beside runs.

An eval folder is one evaluation of one checkpoint: its "best" is that evaluation, its per-query
results give compare its intervals and paired tests, and its deployment target is the checkpoint
it evaluated, with the config.yaml it was evaluated with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reidlab.evaluation import PerQueryResult
from reidlab.research.runs.summary import FINISHED, SOURCE_EVAL, BestResult, RunSummary
from reidlab.rundir import EVAL_FORMAT, EVAL_METRICS_FILE, EVAL_PER_QUERY_FILE, finite_float, read_json, whole_number


def is_eval_folder(path: Path) -> bool:
    """fast-reid writes a metrics.json too, but never a per_query.npz."""
    return (path / EVAL_METRICS_FILE).is_file() and (path / EVAL_PER_QUERY_FILE).is_file()


def read_eval_folder(path: Path, label: str) -> RunSummary:
    """The evaluation as a RunSummary; never raises for a damaged folder."""
    run = RunSummary(path=path, label=label, source=SOURCE_EVAL)
    record, problem = read_json(path / EVAL_METRICS_FILE)
    if problem or not isinstance(record, dict) or record.get("format") != EVAL_FORMAT:
        run.problems.append(problem or f"{EVAL_METRICS_FILE} is not a reidlab eval record")
        return run
    run.state = FINISHED
    metrics = record.get("metrics") if isinstance(record.get("metrics"), dict) else {}
    mAP = finite_float(metrics.get("mAP"))
    if mAP is not None:
        run.best = BestResult(mAP, *(finite_float(metrics.get(k)) for k in ("rank1", "rank5", "rank10", "mINP")), epoch=whole_number(record.get("checkpoint_epoch")))
    run.hyperparameters = record.get("hyperparameters") if isinstance(record.get("hyperparameters"), dict) else {}
    tests = record.get("test_sets")
    run.test_set = str(tests[0]) if isinstance(tests, list) and tests else None
    run.train_seconds = None
    if isinstance(record.get("checkpoint"), str):
        run.best_model_path = Path(record["checkpoint"])
    run.per_query = _per_query(path / EVAL_PER_QUERY_FILE, run)
    return run


def _per_query(file: Path, run: RunSummary) -> PerQueryResult | None:
    try:
        with np.load(file, allow_pickle=False) as arrays:
            per_query = PerQueryResult.from_arrays(arrays)
    except Exception as exc:  # a damaged .npz raises zipfile, OSError, ValueError, KeyError...
        run.problems.append(f"{EVAL_PER_QUERY_FILE} is damaged ({exc.__class__.__name__}): no interval, no paired test")
        return None
    if run.best is not None and abs(per_query.mAP - run.best.mAP) > 1e-6:
        run.problems.append(f"{EVAL_PER_QUERY_FILE} gives mAP {per_query.mAP:.4f}, not the recorded {run.best.mAP:.4f}: not used")
        return None
    return per_query
