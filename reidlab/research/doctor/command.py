"""`reidlab doctor`: a pre-flight check of a config on its real data, in a minute or two, before hours are spent.

Checks, in order (each PASS / WARN / FAIL with its numbers; a failure makes later checks that
need its result SKIP): the data set and P x K fit, the label range, the model, the loss at
initialisation, overfitting one fixed batch, the weights changing, and the measured speed with
the run's ETA. Exit code 1 when any check fails.

Doctor is read-only on the user's side: it writes no run directory and no logs/ folder. It drives
the real Trainer's step without any hook: no run files, and no time limit (SOLVER.TIME_LIMIT_MINUTES
belongs to the run, not to the check). Instead each timed check (the one-batch overfit, the speed
check) has its own budget, --check-seconds: it does fewer steps on a slow machine and says so. The
speed check runs whenever a model could be built, since a slow step is what makes the rest slow.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Iterable, TextIO

from torch import nn

from reidlab.config import Config, load_config
from reidlab.data import TrainData
from reidlab.engine.amp import AmpSettings, cpu_has_native_bf16
from reidlab.engine.distributed import select_device
from reidlab.engine.train import build_training_model, seed_everything
from reidlab.engine.trainer import Trainer
from reidlab.research.doctor import data_check, model_check, overfit_check, speed_check, weights_check
from reidlab.research.doctor.precision import time_precisions
from reidlab.research.doctor.report import CheckResult, DoctorReport, Status, fix_for_error, skipped

DEFAULT_STEPS = 30
DEFAULT_SPEED_STEPS = 8
DEFAULT_CHECK_SECONDS = 120.0  # each timed check's budget: the whole doctor stays within a few minutes
PRECISION_SHARE = 0.3  # of the speed check's budget, for timing bf16 against float32 on the CPU

CHECK_ORDER = [
    (data_check.NAME, data_check.TITLE),
    (model_check.LABELS, model_check.LABELS_TITLE),
    (model_check.MODEL, model_check.MODEL_TITLE),
    (overfit_check.INIT, overfit_check.INIT_TITLE),
    (overfit_check.OVERFIT, overfit_check.OVERFIT_TITLE),
    (weights_check.NAME, weights_check.TITLE),
    (speed_check.NAME, speed_check.TITLE),
]


def _stderr(message: str) -> None:
    print(f"doctor: {message}", file=sys.stderr, flush=True)


def run_doctor(
    config_file: str | Path,
    overrides: Iterable[str] = (),
    steps: int = DEFAULT_STEPS,
    speed_steps: int = DEFAULT_SPEED_STEPS,
    progress: Callable[[str], None] = _stderr,
    check_seconds: float = DEFAULT_CHECK_SECONDS,
) -> DoctorReport:
    """Run every check on the config as `train` would load it; ConfigError for a config that does not load."""
    if steps < 1 or speed_steps < 1 or not check_seconds > 0:
        raise ValueError("--steps and --speed-steps must be at least 1, --check-seconds above 0")
    start = time.monotonic()
    overrides = list(overrides)
    cfg = load_config(config_file, overrides)
    device = select_device(cfg.MODEL.DEVICE)
    amp = AmpSettings.for_device(cfg.SOLVER.AMP.ENABLED, device)
    report = DoctorReport(str(config_file), overrides, str(device), amp.describe())
    try:
        _run_checks(cfg, device, steps, speed_steps, check_seconds, report.checks, progress)
    finally:
        _fill_skipped(report.checks)
        report.seconds = time.monotonic() - start
    return report


def doctor_main(
    config_file: str | Path,
    overrides: Iterable[str] = (),
    steps: int = DEFAULT_STEPS,
    speed_steps: int = DEFAULT_SPEED_STEPS,
    json_file: str | Path | None = None,
    stream: TextIO | None = None,
    check_seconds: float = DEFAULT_CHECK_SECONDS,
) -> int:
    """The CLI's one call: run, print the report, write the JSON form if asked; 1 when a check failed."""
    report = run_doctor(config_file, overrides, steps, speed_steps, check_seconds=check_seconds)
    report.print(stream or sys.stdout)
    if json_file:
        report.write_json(json_file)
    return report.exit_code


def _run_checks(cfg: Config, device, steps: int, speed_steps: int, budget_s: float, checks: list[CheckResult], progress: Callable[[str], None]) -> None:
    seed_everything(cfg.SEED)
    progress("reading the data set and building the training data")
    dataset_result, train_data = data_check.check_dataset(cfg)
    checks.append(dataset_result)
    if train_data is None:
        return
    labels = model_check.check_labels(cfg, train_data)
    if labels.status is Status.FAIL:
        checks.append(labels)
        return
    progress("building the model")
    model_result, model = model_check.check_model(cfg, train_data.num_classes, device, lambda *args: build_training_model(*args)[0])
    if model is not None:
        labels = model_check.check_labels(cfg, train_data, model_check.classifier_outputs(model))
    checks += [labels, model_result]
    if model is None or labels.status is Status.FAIL:
        return
    trainer, error = _scratch_trainer(cfg, model, train_data, device)
    if trainer is None:
        checks.append(weights_check.check_weights_without_optimizer(model, error))
        return
    images, targets = _fixed_batch(train_data, device)
    progress(f"{steps} steps on one fixed batch (at most {budget_s:g} s)")
    trace = overfit_check.overfit_fixed_batch(trainer, images, targets, steps, budget_s)
    outputs = model_check.classifier_outputs(model) or train_data.num_classes
    checks.append(overfit_check.check_loss_at_init(cfg, trace, outputs))
    checks.append(overfit_check.check_overfit(cfg, trace, steps))
    checks.append(weights_check.check_weights_change(cfg, trainer, trace))
    progress(f"timing {speed_steps} training steps and the evaluation (at most about {budget_s:g} s)")
    checks.append(_speed_check(cfg, trainer, dataset_result, speed_steps, budget_s, (images, targets)))


def _scratch_trainer(cfg: Config, model: nn.Module, train_data: TrainData, device) -> tuple[Trainer | None, str]:
    """The real Trainer (optimiser, scheduler, AMP, scaler) with warmup skipped, so the overfit runs at the configured peak LR."""
    peak = cfg.model_copy(deep=True)
    peak.SOLVER.WARMUP_ITERS = 0
    try:
        return Trainer(peak, model, train_data, [], device), ""
    except Exception as exc:  # noqa: BLE001 - e.g. an empty parameter list when every layer is frozen
        return None, f"{type(exc).__name__}: {exc}"


def _fixed_batch(train_data: TrainData, device):
    """The first batch of epoch 1, as training would see it."""
    loader = train_data.loader
    loader.set_epoch(1)
    batch = next(iter(loader))
    return batch.images.to(device), batch.targets.to(device)


def _speed_check(cfg: Config, trainer: Trainer, dataset_result: CheckResult, speed_steps: int, budget_s: float, batch) -> CheckResult:
    """Run even after the overfit failed: the speeds are what the user needs to plan, or to see why a step is slow."""
    test_images = sum(s["query"] + s["gallery"] for s in dataset_result.numbers.get("test_sets", {}).values())
    try:
        precision = None
        if trainer.device.type == "cpu" and (cfg.SOLVER.AMP.ENABLED or cpu_has_native_bf16()):  # where the choice matters
            precision = time_precisions(trainer, *batch, budget_s * PRECISION_SHARE)
        return speed_check.check_speed(cfg, trainer, test_images, speed_steps, budget_s=budget_s * (1 - PRECISION_SHARE), precision=precision)
    except Exception as exc:  # noqa: BLE001 - e.g. out of memory on a full loader batch
        message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
        return CheckResult(speed_check.NAME, speed_check.TITLE, Status.FAIL, "timing the training steps failed", cause=message, fix=fix_for_error("a timed training step"))


def _fill_skipped(checks: list[CheckResult]) -> None:
    """Every check appears in the report: those not run are SKIP, naming the failure that stopped them."""
    done = {c.name for c in checks}
    failed = [c.title for c in checks if c.status is Status.FAIL]
    reason = f"'{failed[0]}' failed; fix it first" if failed else "an earlier step failed"
    for name, title in CHECK_ORDER:
        if name not in done:
            checks.append(skipped(name, title, reason))
    order = {name: index for index, (name, _) in enumerate(CHECK_ORDER)}
    checks.sort(key=lambda c: order.get(c.name, len(order)))
