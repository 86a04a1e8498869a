"""Doctor check 7: measured training speed, and from it how long the run as configured will take.

Training speed is timed on real loader batches (the data pipeline included) through
Trainer.train_step; evaluation speed on a few batches of SIZE_TEST images through the same
feature extraction the evaluation uses. The run takes between the earliest epoch at which early
stopping could end it and MAX_EPOCH. The check has a time budget: on a slow machine it times
fewer steps (at least one) rather than run for an hour, and it says so. On the CPU it also times
bf16 autocast against float32 (precision.py), the choice SOLVER.AMP.ENABLED makes there.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

import torch

from reidlab.config import Config
from reidlab.data import TestBatch, TrainBatch
from reidlab.engine.inference import model_features
from reidlab.engine.schedule_fit import schedule_warnings
from reidlab.engine.trainer import Trainer, evaluation_epochs
from reidlab.research.doctor.precision import PrecisionTiming
from reidlab.research.doctor.report import CheckResult, Status

NAME, TITLE = "speed_eta", "speed and ETA"
SLOW_BF16 = 0.8  # bf16 below this fraction of float32's speed is a clear loss, not timing noise
WARMUP_STEPS = 1  # one untimed step first: a new epoch's iterator (worker start-up); the overfit steps already warmed the model


@dataclass
class RunTimeEstimate:
    """Seconds for the whole run and for its earliest possible early stop."""

    epoch_seconds: float
    evaluation_seconds: float
    eval_epochs: list[int]
    earliest_stop_epoch: int
    max_epoch: int

    def seconds_until(self, epoch: int) -> float:
        evaluations = sum(1 for e in self.eval_epochs if e <= epoch)
        return epoch * self.epoch_seconds + evaluations * self.evaluation_seconds

    @property
    def earliest_seconds(self) -> float:
        return self.seconds_until(self.earliest_stop_epoch)

    @property
    def full_seconds(self) -> float:
        return self.seconds_until(self.max_epoch)


def earliest_stop_epoch(cfg: Config) -> int:
    """The first evaluation sets the best; PATIENCE evaluations without improvement after it end the run."""
    stop = cfg.SOLVER.EARLY_STOP
    epochs = evaluation_epochs(cfg)
    if not stop.ENABLED or len(epochs) <= stop.PATIENCE:
        return cfg.SOLVER.MAX_EPOCH
    return epochs[stop.PATIENCE]


def estimate_run_time(cfg: Config, iters_per_epoch: int, seconds_per_iteration: float, evaluation_seconds: float) -> RunTimeEstimate:
    return RunTimeEstimate(
        epoch_seconds=iters_per_epoch * seconds_per_iteration,
        evaluation_seconds=evaluation_seconds,
        eval_epochs=evaluation_epochs(cfg),
        earliest_stop_epoch=earliest_stop_epoch(cfg),
        max_epoch=cfg.SOLVER.MAX_EPOCH,
    )


def format_duration(seconds: float) -> str:
    """0.4 s, 12 s, 4 min 10 s, 3 h 05 min, 2 d 04 h."""
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def _loader_batches(loader) -> Iterator[TrainBatch]:
    """Batches across as many epochs as asked for, each epoch set as the training loop sets it."""
    epoch = 1
    while True:
        loader.set_epoch(epoch)
        yield from loader
        epoch += 1


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_training_steps(trainer: Trainer, steps: int, budget_s: float = math.inf) -> tuple[int, float, int]:
    """(images, seconds, steps timed) of up to `steps` timed training steps on loader batches, after WARMUP_STEPS
    untimed ones; fewer (at least one) when `budget_s`, counted from the first untimed step, runs out."""
    trainer.model.train()
    batches = _loader_batches(trainer.train_data.loader)
    images = 0
    began = start = time.perf_counter()
    for step in range(WARMUP_STEPS + steps):
        if step == WARMUP_STEPS:
            _sync(trainer.device)
            start = time.perf_counter()
        elif step > WARMUP_STEPS and time.perf_counter() - began > budget_s:
            _sync(trainer.device)
            return images, time.perf_counter() - start, step - WARMUP_STEPS
        batch = next(batches)
        trainer.train_step(batch.images.to(trainer.device, non_blocking=True), batch.targets.to(trainer.device, non_blocking=True), epoch=1, step=step)
        if step >= WARMUP_STEPS:
            images += int(batch.images.shape[0])
    _sync(trainer.device)
    return images, time.perf_counter() - start, steps


def time_feature_extraction(cfg: Config, trainer: Trainer, batches: int) -> float:
    """Seconds per test image of the evaluation's feature extraction (flip test included when configured)."""
    height, width = cfg.INPUT.SIZE_TEST
    size = cfg.TEST.IMS_PER_BATCH
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (size, 3, height, width), dtype=torch.uint8, generator=generator)
    batch = TestBatch(pixels, torch.zeros(size, dtype=torch.int64), torch.zeros(size, dtype=torch.int64), torch.arange(size))
    model_features(trainer.model, [batch], trainer.device, trainer.amp, cfg.TEST.FLIP.ENABLED)  # warm-up
    start = time.perf_counter()
    model_features(trainer.model, [batch] * batches, trainer.device, trainer.amp, cfg.TEST.FLIP.ENABLED)
    return (time.perf_counter() - start) / (size * batches)


def check_speed(cfg: Config, trainer: Trainer, test_images: int, steps: int, eval_batches: int = 2, budget_s: float = math.inf, precision: PrecisionTiming | None = None) -> CheckResult:
    """images/s of real training steps and the ETA of the run as configured, with the early-stopping bound."""
    asked = steps
    images, seconds, steps = time_training_steps(trainer, steps, budget_s)
    images_per_second = images / seconds if seconds > 0 else float("inf")
    seconds_per_iteration = seconds / steps
    per_test_image = time_feature_extraction(cfg, trainer, eval_batches if steps == asked else 1)
    evaluation_seconds = per_test_image * test_images
    estimate = estimate_run_time(cfg, trainer.iters_per_epoch, seconds_per_iteration, evaluation_seconds)
    numbers = {
        "images_per_second": images_per_second,
        "seconds_per_iteration": seconds_per_iteration,
        "timed_steps": steps,
        "budget_seconds": budget_s if math.isfinite(budget_s) else None,
        **(precision.to_numbers() if precision else {}),
        "iters_per_epoch": trainer.iters_per_epoch,
        "epoch_seconds": estimate.epoch_seconds,
        "test_images": test_images,
        "evaluation_seconds": evaluation_seconds,
        "evaluations": len(estimate.eval_epochs),
        "earliest_stop_epoch": estimate.earliest_stop_epoch,
        "max_epoch": estimate.max_epoch,
        "eta_earliest_seconds": estimate.earliest_seconds,
        "eta_full_seconds": estimate.full_seconds,
    }
    if estimate.earliest_stop_epoch < estimate.max_epoch:
        span = f"between {format_duration(estimate.earliest_seconds)} (earliest early stop, epoch {estimate.earliest_stop_epoch}) and "
    else:
        span = "about "
    summary = (
        f"{images_per_second:.1f} img/s ({seconds_per_iteration:.3f} s/iteration, {trainer.iters_per_epoch} per epoch: "
        f"{format_duration(estimate.epoch_seconds)} per epoch, {format_duration(evaluation_seconds)} per evaluation x {len(estimate.eval_epochs)}); "
        f"run {span}{format_duration(estimate.full_seconds)} (MAX_EPOCH {estimate.max_epoch})"
    )
    note = _how(cfg, trainer, estimate, test_images, (steps, asked, budget_s), precision)
    slow_bf16 = _slow_bf16(trainer, precision)
    if slow_bf16:
        return CheckResult(NAME, TITLE, Status.WARN, summary, numbers, cause=slow_bf16, fix="SOLVER.AMP.ENABLED False (float32)", note=note)
    schedule = schedule_warnings(cfg.SOLVER.WARMUP_ITERS, trainer.iters_per_epoch, cfg.SOLVER.MAX_EPOCH, cfg.SOLVER.SCHED, cfg.SOLVER.STEPS)
    if schedule:  # the same warnings `train` logs at its start
        cause, fix = "; ".join(w.problem for w in schedule), "; ".join(w.fix for w in schedule)
        return CheckResult(NAME, TITLE, Status.WARN, summary, numbers, cause=cause, fix=fix, note=note)
    limit = cfg.SOLVER.TIME_LIMIT_MINUTES * 60
    if limit and limit < estimate.full_seconds:
        numbers["time_limit_seconds"] = limit
        epoch = max((e for e in range(1, estimate.max_epoch + 1) if estimate.seconds_until(e) <= limit), default=0)
        cause = f"SOLVER.TIME_LIMIT_MINUTES {cfg.SOLVER.TIME_LIMIT_MINUTES:g} will stop the run at about epoch {epoch} of {estimate.max_epoch}"
        return CheckResult(NAME, TITLE, Status.WARN, summary, numbers, cause=cause, fix="raise the time limit or lower SOLVER.MAX_EPOCH to match", note=note)
    return CheckResult(NAME, TITLE, Status.PASS, summary, numbers, note=note)


def _how(cfg: Config, trainer: Trainer, estimate: RunTimeEstimate, test_images: int, timed: tuple[int, int, float], precision: PrecisionTiming | None) -> str:
    """The how-line: what was timed, within which budget, and what the precisions and early stopping mean here."""
    steps, asked, budget_s = timed
    note = (
        f"{steps} timed steps on loader batches after {WARMUP_STEPS} untimed; evaluation = feature extraction of "
        f"{test_images} test images at SIZE_TEST (ranking not included)"
    )
    if steps < asked:
        note += f"; {steps} of the {asked} steps asked for fitted the check's {budget_s:g} s budget, so the figures rest on fewer steps"
    if precision:
        note += f"; {precision.sentence()}"
        if not trainer.amp.enabled and precision.native_bf16 and precision.bf16_speedup > 1.2:
            note += f"; SOLVER.AMP.ENABLED True would train in bf16 at about x{precision.bf16_speedup:.1f} the speed"
    if estimate.earliest_stop_epoch == estimate.max_epoch and cfg.SOLVER.EARLY_STOP.ENABLED:
        note += f"; early stopping cannot end the run before MAX_EPOCH ({len(estimate.eval_epochs)} evaluations, PATIENCE {cfg.SOLVER.EARLY_STOP.PATIENCE})"
    if trainer.amp.note:
        note += f"; AMP: {trainer.amp.note}"
    return note


def _slow_bf16(trainer: Trainer, precision: PrecisionTiming | None) -> str:
    """Why bf16 autocast, the precision this run trains in, is the slower one here; '' when it is not."""
    if precision is None or not (trainer.amp.enabled and trainer.amp.dtype == torch.bfloat16) or precision.bf16_speedup >= SLOW_BF16:
        return ""
    return f"bf16 autocast (SOLVER.AMP.ENABLED) trains at x{precision.bf16_speedup:.2f} the speed of float32 on this CPU"
