"""What a fast-reid output folder shows to `diagnose`: the iteration curve, epochs, the log's facts.

fast-reid logs iterations, not epochs. The iterations per epoch are fast-reid's own rule,
len(train set) // SOLVER.IMS_PER_BATCH, when log.txt gives the training set's size; otherwise they
are inferred from the evaluation schedule (`fastreid_runs.iterations_per_epoch`, which compare uses too). The per-iteration lines are kept
as they are (chance level and a flat curve are read there) and also averaged into epoch records
for the detectors that think in epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reidlab.research.runs.fastreid_log import FastreidLog, read_fastreid_log
from reidlab.research.runs.fastreid_run import FASTREID_METRICS_FILE, _evaluation, _metric_prefix, _read_metric_lines, iterations_per_epoch
from reidlab.research.runs.summary import RunSummary
from reidlab.rundir import finite_float, whole_number

# fast-reid's per-iteration names -> the names of our training_history.json.
FASTREID_SCALARS = {"total_loss": "loss", "loss_cls": "loss_ce", "loss_triplet": "loss_triplet", "cls_accuracy": "cls_accuracy", "lr": "lr"}


@dataclass
class FastreidEvidence:
    iterations: list[dict]  # {"iteration", and our names}: finite floats, None where the value was not finite
    history: list[dict]  # epoch records (empty when the epoch length is unknown)
    iters_per_epoch: float | None
    log: FastreidLog
    num_classes: int | None
    problems: list[str] = field(default_factory=list)


def read_fastreid_evidence(folder: Path, flat_config: dict[str, Any], label: str) -> FastreidEvidence:
    """Read metrics.json and log.txt of a fast-reid folder; never raises, says what is missing instead.

    Damaged metrics lines are not reported here: compare's reader (the run's summary) already does.
    """
    scratch = RunSummary(path=folder, label=label)
    lines = _read_metric_lines(folder / FASTREID_METRICS_FILE, scratch)
    log = read_fastreid_log(folder)
    problems = list(log.problems)
    iterations = _iteration_records(lines)
    if not iterations:
        problems.append(f"{FASTREID_METRICS_FILE} holds no training line (an 'iteration' with total_loss or loss_cls)")
    tests = flat_config.get("DATASETS.TESTS")
    prefix = _metric_prefix(lines, [str(t) for t in tests] if isinstance(tests, (list, tuple)) else [])
    evaluations = [_evaluation(line, prefix) for line in lines if finite_float(line.get(prefix + "mAP")) is not None]
    ipe, _ = iterations_per_epoch(log.train_images, evaluations, flat_config)
    if ipe is None:
        problems.append("epochs unknown (no training-set size in log.txt and no evaluation to infer them from), so no per-epoch history")
    num_classes = log.train_ids or log.auto_num_classes or whole_number(flat_config.get("MODEL.HEADS.NUM_CLASSES")) or None
    if num_classes is None:
        problems.append(
            "number of training identities unknown (no '# ids' table in log.txt, MODEL.HEADS.NUM_CLASSES 0 or missing), "
            "so chance-level cross-entropy cannot be judged"
        )
    history = _epochs(iterations, evaluations, ipe) if ipe else []
    return FastreidEvidence(iterations, history, ipe, log, num_classes, problems)


def _iteration_records(lines: list[dict]) -> list[dict]:
    """Training lines in our names, one per iteration (a resumed run rewrites some: the last one wins)."""
    by_iteration: dict[int, dict] = {}
    for line in lines:
        iteration = whole_number(line.get("iteration"))
        if iteration is None or not ("total_loss" in line or "loss_cls" in line):
            continue
        record: dict[str, Any] = {"iteration": iteration}
        for theirs, ours in FASTREID_SCALARS.items():
            if theirs in line:
                record[ours] = finite_float(line[theirs])
        by_iteration[iteration] = record
    return [by_iteration[i] for i in sorted(by_iteration)]


def _epochs(iterations: list[dict], evaluations: list[dict], ipe: float) -> list[dict]:
    """Iteration records averaged into epoch records; evaluations attached to their epoch.

    A value that was not finite anywhere in an epoch makes that epoch's mean None (the key stays),
    which is how the divergence detector tells "not finite" from "not logged".
    """
    sums: dict[int, dict[str, list[float]]] = {}
    for record in iterations:
        epoch = max(1, math.ceil((record["iteration"] + 1) / ipe - 1e-9))
        bucket = sums.setdefault(epoch, {})
        for name, value in record.items():
            if name != "iteration":
                bucket.setdefault(name, []).append(math.nan if value is None else value)
    history = []
    for epoch in sorted(sums):
        entry: dict[str, Any] = {"epoch": epoch, "iterations": round(epoch * ipe)}
        for name, values in sums[epoch].items():
            value = values[-1] if name == "lr" else sum(values) / len(values)
            entry[name] = value if math.isfinite(value) else None
        history.append(entry)
    by_epoch = {r["epoch"]: r for r in history}
    for evaluation in evaluations:
        if evaluation["iteration"] is None:
            continue
        epoch = max(1, round((evaluation["iteration"] + 1) / ipe))
        by_epoch.setdefault(epoch, {"epoch": epoch}).update({k: v for k, v in evaluation.items() if k != "iteration"})
    return sorted(by_epoch.values(), key=lambda r: r["epoch"])
