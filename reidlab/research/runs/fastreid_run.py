"""Read a fast-reid output folder (metrics.json as JSON lines, config.yaml) so it ranks beside ours.

fast-reid records iterations, not epochs, and evaluation metrics as percentages (``Rank-1``,
``mAP``, ``mINP``; prefixed ``<Dataset>/`` when there are several test sets). The iterations
per epoch are fast-reid's own rule, len(train set) // ``SOLVER.IMS_PER_BATCH``, when log.txt
gives the training set's size (`iterations_per_epoch`, shared with `diagnose`). Otherwise they
are inferred from the evaluation schedule: the first evaluation happens after epoch
``TEST.EVAL_PERIOD`` (or at the end, when ``SOLVER.MAX_EPOCH`` is shorter). Epochs inferred
from the schedule are marked approximate; without either the epoch is reported as unknown. fast-reid keeps no per-query results, so these runs get no
confidence interval and no paired test.
"""

from __future__ import annotations

import json
from pathlib import Path

from reidlab.config.tree import flatten_config, read_yaml_mapping
from reidlab.research.runs.fastreid_log import read_fastreid_log
from reidlab.research.runs.summary import FINISHED, SOURCE_FASTREID, UNKNOWN, BestResult, RunSummary
from reidlab.rundir import EVAL_PER_QUERY_FILE, HYPERPARAMETER_KEYS, finite_float, whole_number

FASTREID_METRICS_FILE = "metrics.json"
FASTREID_CONFIG_FILE = "config.yaml"
FASTREID_BEST_MODEL_FILES = ("model_best.pth", "model_final.pth")

# fast-reid's metric names -> ours (percentages there, fractions here).
_METRICS = {"mAP": "mAP", "Rank-1": "rank1", "Rank-5": "rank5", "Rank-10": "rank10", "mINP": "mINP"}


def is_fastreid_run(path: Path) -> bool:
    return (path / FASTREID_METRICS_FILE).is_file() and not (path / EVAL_PER_QUERY_FILE).is_file()  # not an eval folder of `reidlab eval`


def read_fastreid_run(path: Path, label: str) -> RunSummary:
    """A fast-reid run as a RunSummary; never raises for a damaged folder."""
    run = RunSummary(path=path, label=label, source=SOURCE_FASTREID)
    config, problem = read_yaml_mapping(path / FASTREID_CONFIG_FILE)
    if problem:
        run.problems.append(problem)
    flat = flatten_config(config)
    run.hyperparameters = {key: flat[key] for key in HYPERPARAMETER_KEYS if key in flat}
    run.max_epoch = whole_number(flat.get("SOLVER.MAX_EPOCH"))
    lines = _read_metric_lines(path / FASTREID_METRICS_FILE, run)
    tests = flat.get("DATASETS.TESTS")
    prefix = _metric_prefix(lines, [str(t) for t in tests] if isinstance(tests, (list, tuple)) else [])
    evaluations = [_evaluation(line, prefix) for line in lines if finite_float(line.get(prefix + "mAP")) is not None]
    run.test_set = prefix.rstrip("/") or (str(tests[0]) if isinstance(tests, (list, tuple)) and tests else None)

    iters_per_epoch, approximate = iterations_per_epoch(read_fastreid_log(path).train_images, evaluations, flat)
    if iters_per_epoch is None:
        run.problems.append(
            "epochs unknown: fast-reid records iterations, and neither log.txt's training-set size nor its evaluation schedule could be read"
        )

    def epoch_of(iteration: int | None) -> int | None:
        if iters_per_epoch is None or iteration is None:
            return None
        return max(1, round((iteration + 1) / iters_per_epoch))

    iterations = [it for it in (whole_number(line.get("iteration")) for line in lines) if it is not None]
    run.epochs_run = epoch_of(max(iterations)) if iterations else None
    run.epochs_are_approximate = run.epochs_run is not None and approximate
    if evaluations:
        best = max(evaluations, key=lambda e: (e["mAP"], -(e["iteration"] or 0)))
        run.best = BestResult(
            mAP=best["mAP"],
            rank1=best.get("rank1"),
            rank5=best.get("rank5"),
            rank10=best.get("rank10"),
            mINP=best.get("mINP"),
            epoch=epoch_of(best["iteration"]),
            epoch_is_approximate=approximate,
        )
    run.map_curve = [(epoch_of(e["iteration"]), e["mAP"]) for e in evaluations if epoch_of(e["iteration"]) is not None]
    run.loss_curve = _loss_curve(lines, iters_per_epoch)
    finished = run.epochs_run is not None and run.max_epoch is not None and run.epochs_run >= run.max_epoch
    run.state = FINISHED if finished else UNKNOWN
    run.best_model_path = next((path / f for f in FASTREID_BEST_MODEL_FILES if (path / f).is_file()), None)
    run.problems.append("fast-reid run: no per-query results, so it is ranked without a confidence interval or paired test")
    return run


def _read_metric_lines(file: Path, run: RunSummary) -> list[dict]:
    """One dict per readable line; a half-written last line (a crash) is skipped and reported."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        run.problems.append(f"{file.name} cannot be read ({exc.__class__.__name__})")
        return []
    lines, damaged = [], 0
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            damaged += 1
            continue
        if isinstance(line, dict):
            lines.append(line)
        else:
            damaged += 1
    if damaged:
        run.problems.append(f"{file.name}: {damaged} damaged lines skipped")
    return lines


def _metric_prefix(lines: list[dict], test_sets: list[str]) -> str:
    """'' for one test set; '<Dataset>/' for several (the config's first test set when present)."""
    prefixes: list[str] = []
    for line in lines:
        for key in line:
            if key == "mAP" or key.endswith("/mAP"):
                prefix = key[: -len("mAP")]
                if prefix not in prefixes:
                    prefixes.append(prefix)
    for test_set in test_sets:
        if f"{test_set}/" in prefixes:
            return f"{test_set}/"
    return prefixes[0] if prefixes else ""


def _evaluation(line: dict, prefix: str) -> dict:
    """Our metric names as fractions, and the iteration of the evaluation."""
    out: dict = {"iteration": whole_number(line.get("iteration"))}
    for theirs, ours in _METRICS.items():
        value = finite_float(line.get(prefix + theirs))
        if value is not None:
            out[ours] = value / 100.0
    return out


def iterations_per_epoch(train_images: int | None, evaluations: list[dict], flat: dict) -> tuple[float | None, bool]:
    """(iterations per epoch, whether approximate) of a fast-reid run; (None, True) when unknown.

    Exact by fast-reid's rule, len(train set) // SOLVER.IMS_PER_BATCH (at least 1), when the
    training set's size is known (log.txt's data-set table); else inferred from the evaluation schedule.
    """
    batch = whole_number(flat.get("SOLVER.IMS_PER_BATCH"))
    if train_images and batch and batch > 0:
        return max(train_images // batch, 1), False
    return _schedule_iterations_per_epoch(evaluations, flat), True


def _schedule_iterations_per_epoch(evaluations: list[dict], flat: dict) -> float | None:
    """From the first evaluation: it happens after epoch min(TEST.EVAL_PERIOD, SOLVER.MAX_EPOCH)."""
    period = whole_number(flat.get("TEST.EVAL_PERIOD"))
    max_epoch = whole_number(flat.get("SOLVER.MAX_EPOCH"))
    iterations = [e["iteration"] for e in evaluations if e["iteration"] is not None]
    if not iterations or not period or period <= 0:
        return None
    first_epoch = min(period, max_epoch) if max_epoch else period
    return (min(iterations) + 1) / first_epoch


def _loss_curve(lines: list[dict], iters_per_epoch: float | None) -> list[tuple[float, float]]:
    """Training loss against (fractional) epoch; empty when epochs are unknown."""
    if iters_per_epoch is None:
        return []
    curve = []
    for line in lines:
        iteration, loss = whole_number(line.get("iteration")), finite_float(line.get("total_loss"))
        if iteration is not None and loss is not None:
            curve.append(((iteration + 1) / iters_per_epoch, loss))
    return sorted(curve)
