"""What model_info.json says of a run: written when it starts (status running) and again when it ends."""

from __future__ import annotations

from reidlab.engine.model_info import device_description, now_iso, versions
from reidlab.engine.stop_reasons import Stop
from reidlab.rundir import METRIC_KEYS, RunDirectory, hyperparameters, read_model_info


def initial_info(trainer, run: RunDirectory, initial_weights: dict | None = None) -> dict:
    """The run's description at its start; a resumed run keeps its first start time and lists every resume."""
    cfg, train_data = trainer.cfg, trainer.train_data
    previous = (read_model_info(run.path)[0] or {}) if trainer.resumed else {}
    return {
        "run_name": run.path.name,
        "run_dir": run.path.as_posix(),
        "dataset": cfg.DATASETS.NAMES[0],
        "test_sets": list(cfg.DATASETS.TESTS),
        "num_classes": train_data.num_classes,
        "num_train_images": train_data.num_images,
        "skipped_corrupt_images": train_data.skipped_corrupt,
        "status": "running",
        "best": trainer.state.best,
        "final": None,
        "stop": None,
        "epochs_run": trainer.state.epoch,
        "hyperparameters": hyperparameters(cfg),
        "initial_weights": initial_weights or previous.get("initial_weights"),
        "started": previous.get("started", now_iso()),
        "resumed": previous.get("resumed", []) + ([now_iso()] if trainer.resumed else []),
        "finished": None,
        "versions": versions(),
        "device": device_description(trainer.device),
        "processes": trainer.processes.world_size,
        "amp": trainer.amp.describe(),
    }


def final_info(info: dict, trainer, stop: Stop) -> dict:
    """The description at the end: how it stopped, the best and the final numbers, what it cost."""
    history = trainer.state.history
    last = history[-1] if history else {}
    evaluated = [r for r in history if "mAP" in r]
    final = {"epoch": trainer.state.epoch, **{k: v for k, v in last.items() if k.startswith("loss")}}
    if evaluated:
        final.update({"evaluated_epoch": evaluated[-1]["epoch"], **{k: evaluated[-1][k] for k in METRIC_KEYS}})
    return {
        **info,
        "status": "finished",
        "best": trainer.state.best,
        "final": final,
        "stop": stop.to_dict(),
        "epochs_run": trainer.state.epoch,
        "iterations": trainer.state.iteration,
        "train_seconds": trainer.elapsed_seconds(),
        "finished": now_iso(),
    }
