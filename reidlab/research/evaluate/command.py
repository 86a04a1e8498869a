"""Evaluate a checkpoint exactly as training evaluates it, and keep the result in an eval folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from reidlab.config import Config, config_to_yaml, override_config
from reidlab.data import build_test_data
from reidlab.engine.amp import AmpSettings
from reidlab.engine.distributed import start_processes
from reidlab.engine.inference import evaluate_test_sets
from reidlab.engine.model_info import device_description, now_iso, versions
from reidlab.evaluation import EvaluationResult
from reidlab.modeling.loading import LoadedNetwork, load_network
from reidlab.rundir import CONFIG_FILE, EVAL_FORMAT, EVAL_METRICS_FILE, EVAL_PER_QUERY_FILE, hyperparameters, save_npz_atomic, write_json_atomic, write_text_atomic

DEFAULT_EVAL_ROOT = Path("logs") / "eval"


@dataclass
class EvalResult:
    folder: Path
    metrics: dict  # as training's history records them: the first test set unprefixed, the others "<name>/<metric>"
    primary: EvaluationResult


def eval_main(run_or_checkpoint: str, config_file: str | None = None, overrides: Sequence[str] = (), out: str | None = None) -> int:
    """The command's one call: evaluate, print the table, write the eval folder."""
    evaluate_checkpoint(run_or_checkpoint, config_file, overrides, out)
    return 0


def evaluate_checkpoint(
    run_or_checkpoint: str | Path, config_file: str | Path | None = None, overrides: Sequence[str] = (), out: str | Path | None = None, say: Callable[[str], None] = print
) -> EvalResult:
    """Evaluate a run's best model (or a .pth) on its config's DATASETS.TESTS; `overrides` may change the TEST, DATASETS and INPUT keys."""
    loaded = load_network(run_or_checkpoint, config_file)
    if loaded.config_note:
        say(loaded.config_note)
    cfg = override_config(loaded.cfg, list(overrides)) if overrides else loaded.cfg
    started = time.perf_counter()
    test_sets = build_test_data(cfg)
    processes, device = start_processes(cfg.MODEL.DEVICE)
    try:
        network = loaded.network.to(device)
        loaders = [t.loader for t in test_sets]
        amp = AmpSettings.for_device(cfg.SOLVER.AMP.ENABLED, device)
        metrics, primary, _ = evaluate_test_sets(cfg, network, test_sets, loaders, device, amp, processes)
    finally:
        processes.shutdown()
    folder = _unique(Path(out) if out else DEFAULT_EVAL_ROOT / _folder_name(loaded, cfg, Path(run_or_checkpoint)))
    _write_folder(folder, loaded, cfg, metrics, primary, device, time.perf_counter() - started, run_or_checkpoint, config_file)
    for line in metrics_table(cfg, metrics):
        say(line)
    say(f"wrote {folder / EVAL_METRICS_FILE} and {EVAL_PER_QUERY_FILE}; `reidlab compare` ranks this folder beside runs")
    return EvalResult(folder, metrics, primary)


def metrics_table(cfg: Config, metrics: dict) -> list[str]:
    """fast-reid's table: one row a test set, percentages."""
    names = ("mAP", "rank1", "rank5", "rank10", "mINP")
    header = f"{'test set':<16}" + "".join(f"{n:>9}" for n in ("mAP", "Rank-1", "Rank-5", "Rank-10", "mINP"))
    rows = [header]
    for index, name in enumerate(cfg.DATASETS.TESTS):
        prefix = "" if index == 0 else f"{name}/"
        rows.append(f"{name:<16}" + "".join(f"{100 * metrics[prefix + n]:>9.2f}" for n in names))
    return rows


def _folder_name(loaded: LoadedNetwork, cfg: Config, given: Path) -> str:
    """<run folder>-<test sets>[-flip][-aqe][-rerank]: says what was evaluated and how."""
    source = given.name if given.is_dir() else f"{loaded.checkpoint_path.parent.name}-{loaded.checkpoint_path.stem}"
    options = [name for name, on in (("flip", cfg.TEST.FLIP.ENABLED), ("aqe", cfg.TEST.AQE.ENABLED), ("rerank", cfg.TEST.RERANK.ENABLED)) if on]
    return "-".join([source, "+".join(cfg.DATASETS.TESTS), *options])


def _unique(folder: Path) -> Path:
    """The folder, or folder-2, folder-3, ... when it already holds an evaluation: nothing is overwritten."""
    candidate, number = folder, 1
    while (candidate / EVAL_METRICS_FILE).exists():
        number += 1
        candidate = folder.with_name(f"{folder.name}-{number}")
    return candidate


def _write_folder(folder: Path, loaded: LoadedNetwork, cfg: Config, metrics: dict, primary: EvaluationResult, device, seconds: float, given, config_file) -> None:
    test = cfg.TEST
    record = {
        "format": EVAL_FORMAT,
        "version": 1,
        "evaluated": str(given),
        "checkpoint": loaded.checkpoint_path.resolve().as_posix(),
        "checkpoint_format": loaded.source_format,
        "checkpoint_epoch": loaded.epoch,
        "config_file": str(config_file) if config_file else None,
        "test_sets": list(cfg.DATASETS.TESTS),
        "options": {"metric": test.METRIC, "flip": test.FLIP.ENABLED, "aqe": test.AQE.ENABLED, "rerank": test.RERANK.ENABLED},
        "metrics": metrics,
        "cmc": [float(v) for v in primary.cmc],
        "hyperparameters": hyperparameters(cfg),
        "finished": now_iso(),
        "seconds": seconds,
        "device": device_description(device),
        "versions": versions(),
    }
    write_text_atomic(folder / CONFIG_FILE, config_to_yaml(cfg))
    save_npz_atomic(folder / EVAL_PER_QUERY_FILE, primary.per_query.to_arrays())
    write_json_atomic(folder / EVAL_METRICS_FILE, record)  # last: its presence marks a complete eval folder
