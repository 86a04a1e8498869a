"""Synthetic run folders for the compare tests: what `reidlab train` and fast-reid write, without training.

`per_query_result` builds per-query results on a fixed query set (pids and cameras shared by
every run that uses the same ``query_seed``), so paired tests are meaningful; `write_reidlab_run`
and `write_fastreid_run` write folders with exactly the files and keys the trainers write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from reidlab.evaluation import PerQueryResult

DEFAULT_HYPERPARAMETERS = {
    "MODEL.BACKBONE.DEPTH": "50x",
    "SOLVER.BASE_LR": 0.00035,
    "SOLVER.IMS_PER_BATCH": 64,
    "SOLVER.MAX_EPOCH": 60,
    "SOLVER.SCHED": "MultiStepLR",
    "SEED": 0,
}


def query_set(n_ids: int = 40, per_id: int = 5, query_seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pids, camids, per-identity difficulty) of a query set; same seed, same queries."""
    rng = np.random.default_rng(query_seed)
    pids = np.repeat(np.arange(n_ids) * 7 + 3 + 1000 * query_seed, per_id)
    camids = rng.integers(0, 6, size=len(pids))
    difficulty = np.repeat(rng.uniform(0.3, 0.9, size=n_ids), per_id)
    return pids, camids, difficulty


def per_query_result(ap: np.ndarray, pids: np.ndarray, camids: np.ndarray) -> PerQueryResult:
    ap = np.asarray(ap, dtype=np.float64)
    n = len(ap)
    return PerQueryResult(
        query_index=np.arange(n),
        pid=np.asarray(pids, dtype=np.int64),
        camid=np.asarray(camids, dtype=np.int64),
        valid=np.ones(n, dtype=bool),
        ap=ap,
        inp=ap * 0.6,
        first_match_rank=np.where(ap > 0.5, 1, 3),
        num_matches=np.full(n, 2, dtype=np.int64),
    )


def run_quality(shift: float, noise_seed: int, *, query_seed: int = 0, noise: float = 0.05, n_ids: int = 40) -> PerQueryResult:
    """Per-query results: the query set's difficulty + ``shift`` + small per-query noise."""
    pids, camids, difficulty = query_set(n_ids=n_ids, query_seed=query_seed)
    rng = np.random.default_rng(1000 + noise_seed)
    ap = np.clip(difficulty + shift + noise * rng.standard_normal(len(pids)), 0.0, 1.0)
    return per_query_result(ap, pids, camids)


def tied_pair(gap: float = 0.002, *, query_seed: int = 0) -> tuple[PerQueryResult, PerQueryResult]:
    """(higher, lower): mAPs ``gap`` apart with per-query noise far larger than the gap."""
    pids, camids, difficulty = query_set(query_seed=query_seed)
    rng = np.random.default_rng(7)
    higher = np.clip(difficulty + 0.04 * rng.standard_normal(len(pids)), 0.05, 0.95)
    wobble = 0.06 * rng.standard_normal(len(pids))
    lower = np.clip(higher + wobble - wobble.mean() - gap, 0.0, 1.0)
    return per_query_result(higher, pids, camids), per_query_result(lower, pids, camids)


def write_reidlab_run(
    parent: Path,
    name: str,
    per_query: PerQueryResult | None,
    *,
    epochs_run: int = 20,
    best_epoch: int | None = None,
    eval_period: int = 1,
    status: str = "finished",
    stop_reason: str | None = "patience_exhausted",
    train_seconds: float | None = None,
    hyperparameters: dict[str, Any] | None = None,
    test_set: str = "Market1501",
    write_per_query: bool = True,
    best_in_model_info: bool = True,
) -> Path:
    """A reidlab run folder as train leaves it (model_info, history, per-query npz, best_model.pth)."""
    run = parent / name
    run.mkdir(parents=True, exist_ok=True)
    best_map = per_query.mAP if per_query is not None else None
    best_epoch = best_epoch if best_epoch is not None else max(1, epochs_run - 3)
    history = []
    for epoch in range(1, epochs_run + 1):
        record = {
            "epoch": epoch, "iterations": epoch * 100, "lr": 0.00035, "loss": 8.0 / (1 + 0.3 * epoch),
            "loss_ce": 6.0 / (1 + 0.3 * epoch), "loss_triplet": 2.0 / (1 + 0.3 * epoch),
            "train_seconds": 30.0 if train_seconds is None else train_seconds / epochs_run,
            "images_per_second": 200.0, "grad_norm": 3.0,
        }
        if best_map is not None and epoch % eval_period == 0:
            record.update(_metrics(best_map - 0.004 * abs(epoch - best_epoch)))
            record["eval_seconds"] = 5.0
        history.append(record)
    best = {"epoch": best_epoch, **_metrics(best_map)} if best_map is not None else None
    finished = status == "finished"
    info = {
        "run_name": name, "run_dir": run.as_posix(), "dataset": "Market1501", "test_sets": [test_set],
        "num_classes": 751, "num_train_images": 12936, "status": status,
        "best": best if finished and best_in_model_info else None,
        "final": {"epoch": epochs_run, "loss": history[-1]["loss"]} if finished else None,
        "stop": {"reason": stop_reason, "message": f"stopped: {stop_reason}", "epoch": epochs_run} if finished and stop_reason else None,
        "epochs_run": epochs_run if finished else 0,
        "iterations": epochs_run * 100,
        "train_seconds": (train_seconds if train_seconds is not None else 30.0 * epochs_run) if finished else None,
        "hyperparameters": {**DEFAULT_HYPERPARAMETERS, **(hyperparameters or {})},
        "started": "2024-01-01T00:00:00+00:00", "finished": "2024-01-01T05:00:00+00:00" if finished else None,
        "versions": {"reidlab": "0.1.0"}, "device": "cpu", "amp": "off",
    }
    (run / "model_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    (run / "training_history.json").write_text(json.dumps(history, indent=2), encoding="utf-8")
    (run / "config.yaml").write_text(_config_yaml(info["hyperparameters"], test_set), encoding="utf-8")
    if best_map is not None:
        (run / "best_model.pth").write_bytes(b"weights")
        if write_per_query:
            (run / "eval").mkdir(exist_ok=True)
            np.savez_compressed(run / "eval" / "best_per_query.npz", **per_query.to_arrays(), epoch=best_epoch)
    return run


def write_fastreid_run(
    parent: Path,
    name: str,
    evaluations: Sequence[tuple[int, float]],
    *,
    iters_per_epoch: int = 200,
    max_epoch: int = 60,
    eval_period: int = 10,
    test_sets: Sequence[str] = ("Market1501",),
    base_lr: float = 0.00035,
) -> Path:
    """A fast-reid output folder: metrics.json (JSON lines, percentages) and config.yaml.

    ``evaluations``: (epoch, mAP in percent). With several test sets, metric keys carry
    a ``<Dataset>/`` prefix and the second test set gets lower numbers.
    """
    run = parent / name
    run.mkdir(parents=True, exist_ok=True)
    lines = []
    last_epoch = max(epoch for epoch, _ in evaluations)
    eval_at = dict(evaluations)
    for epoch in range(1, last_epoch + 1):
        for step in range(19, iters_per_epoch, 20):
            iteration = (epoch - 1) * iters_per_epoch + step
            lines.append({
                "iteration": iteration, "total_loss": 9.0 / (1 + 0.1 * iteration / iters_per_epoch),
                "loss_cls": 6.0, "loss_triplet": 1.0, "cls_accuracy": 0.5, "lr": base_lr,
                "time": 0.3, "data_time": 0.01, "eta_seconds": 1000.0,
            })
        if epoch in eval_at:
            mAP = eval_at[epoch]
            metrics = {"Rank-1": mAP + 10, "Rank-5": mAP + 15, "Rank-10": mAP + 17, "mAP": mAP, "mINP": mAP - 20, "metric": mAP + 5}
            line: dict[str, Any] = {"iteration": epoch * iters_per_epoch - 1}
            if len(test_sets) == 1:
                line.update(metrics)
            else:
                for index, test_set in enumerate(test_sets):
                    line.update({f"{test_set}/{k}": v - 10 * index for k, v in metrics.items()})
            lines.append(line)
    (run / "metrics.json").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    tests = ", ".join(f'"{t}"' for t in test_sets)
    (run / "config.yaml").write_text(
        "MODEL:\n  BACKBONE:\n    DEPTH: 50x\n"
        f"DATASETS:\n  NAMES: [\"Market1501\"]\n  TESTS: [{tests}]\n"
        f"SOLVER:\n  BASE_LR: {base_lr}\n  IMS_PER_BATCH: 64\n  MAX_EPOCH: {max_epoch}\n"
        f"TEST:\n  EVAL_PERIOD: {eval_period}\nOUTPUT_DIR: logs/{name}\n",
        encoding="utf-8",
    )
    (run / "model_best.pth").write_bytes(b"weights")
    return run


def _metrics(mAP: float) -> dict[str, float]:
    return {"mAP": mAP, "rank1": min(1.0, mAP + 0.1), "rank5": min(1.0, mAP + 0.15), "rank10": min(1.0, mAP + 0.17), "mINP": mAP * 0.6}


def _config_yaml(hyperparameters: dict[str, Any], test_set: str) -> str:
    """A resolved config as train writes it (nested keys), holding the run's hyperparameters."""
    tree: dict[str, Any] = {"DATASETS": {"NAMES": ["Market1501"], "TESTS": [test_set]}}
    for dotted, value in hyperparameters.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return json.dumps(tree, indent=2) + "\n"  # JSON is YAML
