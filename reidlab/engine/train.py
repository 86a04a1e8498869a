"""`reidlab train`: from a fast-reid config to a complete, honest run directory."""

from __future__ import annotations

import logging
import random
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from reidlab.config import Config, ignored_keys_note, load_config
from reidlab.data import build_test_data, build_train_data
from reidlab.engine.console import get_logger, log_to_console_and_file
from reidlab.engine.distributed import Processes, start_processes
from reidlab.engine.hooks import HookBase, default_hooks
from reidlab.engine.model_info import device_description, versions
from reidlab.engine.schedule_fit import schedule_warnings
from reidlab.engine.stop_reasons import Stop, StopReason
from reidlab.engine.trainer import Trainer, evaluation_epochs
from reidlab.modeling import build_model
from reidlab.modeling.initial_weights import InitialWeights, load_initial_weights
from reidlab.rundir import MODEL_INFO_FILE, RunDirectory, RunDirError, load_checkpoint, resolve_run_dir

EXIT_INTERRUPTED = 130


@dataclass
class TrainResult:
    run_dir: Path
    stop: Stop
    best: dict | None

    @property
    def exit_code(self) -> int:
        if self.stop.reason is StopReason.INTERRUPTED:
            return EXIT_INTERRUPTED
        return 1 if self.stop.reason.is_failure else 0


def train(
    config_file: str | Path | None = None,
    run_name: str | None = None,
    overrides: Iterable[str] = (),
    resume: bool = False,
    hooks: Iterable[HookBase] = (),
) -> TrainResult:
    """Train from a config; every ending, failures included, leaves a complete run directory.

    `hooks` run after the standard set (`default_hooks`): a sweep's PauseAfterEpoch, a search's pruning.
    Under torchrun every process trains its share of each batch and rank 0 alone writes the run.
    """
    cfg = load_config(config_file, overrides)
    run = RunDirectory(resolve_run_dir(cfg, run_name, config_file))
    cfg = cfg.model_copy(deep=True)
    cfg.OUTPUT_DIR = run.path.as_posix()
    checkpoint = _checkpoint_to_resume(run) if resume else _refuse_existing_run(run)

    processes, device = start_processes(cfg.MODEL.DEVICE)
    try:
        seed_everything(cfg.SEED)  # the same seed in every process: identical initial weights
        torch.backends.cudnn.benchmark = cfg.CUDNN_BENCHMARK  # as fast-reid: cuDNN times its kernels once per input shape
        with warnings.catch_warnings(record=True) as setup_warnings:  # replayed into log.txt once it exists
            warnings.simplefilter("default")
            train_data = build_train_data(cfg, seed=cfg.SEED, rank=processes.rank, world_size=processes.world_size)
            test_sets = build_test_data(cfg)
            model, weights = build_training_model(cfg, train_data.num_classes, device)
            cfg.MODEL.BACKBONE.FEAT_DIM = model.backbone.out_channels  # the run's config.yaml records the width it has
        trainer = Trainer(cfg, model, train_data, test_sets, device, [*default_hooks(cfg, run, weights), *hooks], processes)
        if checkpoint is not None:
            trainer.load_checkpoint_state(checkpoint)
        processes.barrier()  # every process has checked the run directory before rank 0 writes to it
        if processes.is_main:
            run.create()
        with _run_log(run, processes) as log:
            _log_header(log, cfg, run, train_data, test_sets, device, trainer, checkpoint)
            for line in (ignored_keys_note(cfg, str(config_file)), weights.line() if weights else ""):
                if line:
                    log.info("%s", line)
            for caught in setup_warnings:
                log.warning("warning: %s", caught.message)
            stop = trainer.fit()
            log.info("Stopped: %s. %s", stop.reason.value, stop.message)
            if trainer.state.best:
                best = trainer.state.best
                log.info("Best mAP %.4f (rank-1 %.4f) at epoch %d: %s", best["mAP"], best["rank1"], best["epoch"], run.best_model)
            log.info("Why it stopped and what to try next: %s", run.file("STOPPING_REASON.txt"))
    finally:
        processes.shutdown()
    return TrainResult(run.path, stop, trainer.state.best)


@contextmanager
def _run_log(run: RunDirectory, processes: Processes) -> Iterator[logging.Logger]:
    """Rank 0 logs to the console and log.txt; other ranks only their errors, so the console shows each line once."""
    if processes.is_main:
        with log_to_console_and_file(run.log_file) as log:
            yield log
        return
    log = get_logger()
    log.setLevel(logging.ERROR)  # every rank meets the same warnings; rank 0 shows them
    yield log


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _refuse_existing_run(run: RunDirectory) -> None:
    """Never overwrite a run: its checkpoints may be hours of work."""
    if run.file(MODEL_INFO_FILE).exists() or run.last_checkpoint.exists():
        raise RunDirError(f"{run.path} already holds a run; continue it with --resume, or choose another --run-name")


def _checkpoint_to_resume(run: RunDirectory) -> dict:
    if not run.last_checkpoint.exists():
        raise RunDirError(f"--resume: {run.last_checkpoint} not found; there is no run to continue at {run.path}")
    return load_checkpoint(run.last_checkpoint)


def build_training_model(cfg: Config, num_classes: int, device: torch.device) -> tuple[torch.nn.Module, InitialWeights | None]:
    """The model as training starts it: built from the config, on the device, from MODEL.WEIGHTS if set (and what that loaded)."""
    model = build_model(cfg, num_classes)
    weights = load_initial_weights(model, cfg.MODEL.WEIGHTS) if cfg.MODEL.WEIGHTS else None
    return model.to(device), weights


def _log_header(log, cfg: Config, run: RunDirectory, train_data, test_sets, device, trainer: Trainer, checkpoint) -> None:
    log.info("reidlab %s  run %s", versions()["reidlab"], run.path)
    log.info("device %s, AMP %s, seed %d", device_description(device), trainer.amp.describe(), cfg.SEED)
    if trainer.processes.enabled:
        per_process = cfg.SOLVER.IMS_PER_BATCH // trainer.processes.world_size
        log.info("%d processes (torchrun), %d images of each batch of %d per process", trainer.processes.world_size, per_process, cfg.SOLVER.IMS_PER_BATCH)
    log.info("%s", train_data.summary_table())
    skipped = train_data.skipped_corrupt + sum(t.skipped_corrupt for t in test_sets)
    if skipped:
        log.info("skipped %d corrupt image(s) that could not be decoded (see the warning above for the first)", skipped)
    for test_set in test_sets:
        log.info("test set %s: %d query, %d gallery images", test_set.name, test_set.num_query, len(test_set.pids) - test_set.num_query)
    log.info(
        "model ResNet%s, %d identities, %d iterations per epoch, up to %d epochs",
        cfg.MODEL.BACKBONE.DEPTH.rstrip("x"), train_data.num_classes, trainer.iters_per_epoch, cfg.SOLVER.MAX_EPOCH,
    )
    evaluations, stop = len(evaluation_epochs(cfg)), cfg.SOLVER.EARLY_STOP
    if stop.ENABLED and evaluations <= stop.PATIENCE:  # the first evaluation sets the best; PATIENCE more must follow
        log.warning(
            "warning: early stopping cannot end this run: %d evaluations (SOLVER.MAX_EPOCH %d, TEST.EVAL_PERIOD %d) but SOLVER.EARLY_STOP.PATIENCE %d; "
            "lower TEST.EVAL_PERIOD or the patience", evaluations, cfg.SOLVER.MAX_EPOCH, cfg.TEST.EVAL_PERIOD, stop.PATIENCE,
        )
    for warning in schedule_warnings(cfg.SOLVER.WARMUP_ITERS, trainer.iters_per_epoch, cfg.SOLVER.MAX_EPOCH, cfg.SOLVER.SCHED, cfg.SOLVER.STEPS):
        log.warning("%s", warning.line())
    if trainer.frozen and cfg.SOLVER.FREEZE_ITERS > trainer.state.iteration:
        log.info("MODEL.FREEZE_LAYERS %s frozen for the first %d iterations (SOLVER.FREEZE_ITERS)", trainer.frozen.names, cfg.SOLVER.FREEZE_ITERS)
    if checkpoint is not None:
        log.info("resumed from %s after epoch %d", run.last_checkpoint, trainer.state.epoch)
