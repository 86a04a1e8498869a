"""Doctor checks 4 and 5: the loss at initialisation, and overfitting one fixed batch.

Both come from the same N real optimiser steps (Trainer.train_step: the configured optimiser,
AMP, grad scaler and scheduler) on one batch: the first step's loss is computed before any
update, so it is the loss at initialisation. The steps stop when the check's time budget is
spent (a slow CPU), and the verdict then says what the steps done can and cannot tell.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from reidlab.config import Config
from reidlab.engine.health import ParameterSnapshot
from reidlab.engine.trainer import Trainer
from reidlab.modeling.chance import ChanceLevel
from reidlab.research.doctor.report import CheckResult, Status, fix_for_error

INIT, INIT_TITLE = "loss_at_init", "loss at init"
OVERFIT, OVERFIT_TITLE = "overfit", "one-batch overfit"

INIT_TOLERANCE = 0.2  # CE at init must lie within chance x (1 +- this): ln(C) for Linear, see ChanceLevel
OVERFIT_FACTOR = 0.5  # the loss must fall to at most this fraction of its initial value
TAIL = 3  # the final loss is the mean of the last TAIL steps (one noisy step decides nothing)
UNCHANGED_RATIO = 1e-7  # an update ratio below this means the weights did not move


@dataclass
class OverfitTrace:
    """What N steps on one fixed batch did: losses, gradient norms, learning rate, weight changes."""

    batch_size: int
    lr: float
    losses: list[float] = field(default_factory=list)
    ce: list[float] = field(default_factory=list)  # loss_ce without its SCALE (comparable with chance)
    triplet: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    changes: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    budget_s: float = math.inf
    out_of_budget: bool = False  # the budget ended the steps before all were done

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / len(self.losses) if self.losses else 0.0

    @property
    def initial(self) -> float:
        return self.losses[0]

    @property
    def final(self) -> float:
        tail = self.losses[-TAIL:]
        return sum(tail) / len(tail)

    @property
    def weights_moved(self) -> bool:
        ratios = [v for k, v in self.changes.items() if k.startswith("update_ratio_")]
        return bool(ratios) and max(ratios) >= UNCHANGED_RATIO


def current_lr(trainer: Trainer) -> float:
    return max((group["lr"] for group in trainer.optimizer.param_groups), default=0.0)


def overfit_fixed_batch(trainer: Trainer, images: torch.Tensor, targets: torch.Tensor, steps: int, budget_s: float = math.inf) -> OverfitTrace:
    """Run `steps` real training steps on the same batch, fewer when `budget_s` runs out; an exception (e.g. a non-finite loss) ends the trace."""
    trainer.model.train()
    trace = OverfitTrace(batch_size=int(images.shape[0]), lr=current_lr(trainer), budget_s=budget_s)
    ce_scale = trainer.cfg.MODEL.LOSSES.CE.SCALE
    snapshot = ParameterSnapshot(trainer.param_groups)
    start = time.monotonic()
    try:
        for step in range(steps):
            if step > 0 and time.monotonic() - start > budget_s:
                trace.out_of_budget = True
                break
            values = trainer.train_step(images, targets, epoch=1, step=step)
            values = {name: float(value.detach()) if isinstance(value, torch.Tensor) else float(value) for name, value in values.items()}
            trace.losses.append(values["loss"])
            if "loss_ce" in values and ce_scale > 0:
                trace.ce.append(values["loss_ce"] / ce_scale)
            if "loss_triplet" in values:
                trace.triplet.append(values["loss_triplet"])
            trace.grad_norms.append(values["grad_norm"])
    except Exception as exc:  # noqa: BLE001 - a failing step is a finding, reported in the checks
        trace.error = f"{type(exc).__name__} at step {len(trace.losses) + 1}: {exc}"
    trace.seconds = time.monotonic() - start
    trace.changes = snapshot.changes()
    return trace


def check_loss_at_init(cfg: Config, trace: OverfitTrace, outputs: int) -> CheckResult:
    """Cross-entropy before any update should be about chance: the CE of a classifier that cannot tell the classes apart yet.

    That is ln(outputs) for a Linear classifier, and for a cosine CLS_LAYER the CE of its margin
    and scale at cosine 0 (ChanceLevel, computed by the training loss itself).
    """
    chance = ChanceLevel.of(cfg, outputs)
    expected = chance.value
    numbers = {
        "ce": trace.ce[0] if trace.ce else None,
        "expected_ce": expected,
        "expected_ce_basis": chance.basis,
        "ln_classes": chance.ln_classes,
        "classes": outputs,
        "cls_layer": chance.cls_layer,
        "total_loss": trace.losses[0] if trace.losses else None,
        "tolerance": INIT_TOLERANCE,
    }
    note = f"chance level is {chance.describe()}; a run whose CE stays near it after many epochs has learned nothing"
    if chance.is_cosine:
        note += "; the initial cosines are small but not exactly 0, so the real CE at init lies a little above it"
    if cfg.MODEL.WEIGHTS:
        note += f"; the model starts from MODEL.WEIGHTS ({cfg.MODEL.WEIGHTS}), as training does, so a CE below chance is expected"
    if not trace.losses:
        return CheckResult(INIT, INIT_TITLE, Status.FAIL, "no loss could be computed", numbers, cause=trace.error, fix=_error_fix(trace.error))
    if not trace.ce:
        return CheckResult(INIT, INIT_TITLE, Status.WARN, f"total loss {trace.losses[0]:.3f}; no cross-entropy term to compare with chance ({chance.basis})", numbers, note=note)
    ce = trace.ce[0]
    ratio = ce / expected if expected > 0 else float("inf")
    numbers["ratio"] = ratio
    summary = (
        f"CE {ce:.3f} vs chance {chance.basis} = {expected:.3f} (x{ratio:.2f}, pass within x{1 - INIT_TOLERANCE:.1f}-{1 + INIT_TOLERANCE:.1f}); "
        f"total loss {trace.losses[0]:.3f}"
    )
    if abs(ratio - 1) <= INIT_TOLERANCE:
        return CheckResult(INIT, INIT_TITLE, Status.PASS, summary, numbers, note=note)
    if ratio > 1 and chance.is_cosine:
        cause = "the cosines between the features and the class weights are far from 0 before training, so training starts confident and wrong"
        fix = "keep the head's random classifier init (N(0, 0.01) for a cosine layer); check that MODEL.HEADS.SCALE and MARGIN are what you meant"
    elif ratio > 1:
        cause = "the logits are large before training (a classifier not initialised small, an unnormalised input, or a logit scale), so training starts overconfident and wrong"
        fix = "keep the head's classifier init N(0, 0.001) and the BNNeck; check MODEL.PIXEL_MEAN / PIXEL_STD (0-255 scale)"
    elif cfg.MODEL.WEIGHTS:
        return CheckResult(INIT, INIT_TITLE, Status.PASS, summary, numbers, note=note)
    else:
        cause = "the classifier already separates the batch before training: weights from a model trained on these ids, or targets that are not the identities (e.g. all one class)"
        fix = "start from ImageNet weights; check the labels the data set reader produces"
        if chance.is_cosine and abs(ce / chance.ln_classes - 1) <= INIT_TOLERANCE:
            cause += (
                f"; or, as CE is near ln({outputs}) = {chance.ln_classes:.3f}, a Linear classifier's chance level, "
                f"the {chance.cls_layer} margin and scale do not reach the loss"
            )
            fix += "; check that the loss applies MODEL.HEADS.CLS_LAYER's margin and scale (margin_logits) to the head's cosine logits"
    return CheckResult(INIT, INIT_TITLE, Status.FAIL, summary, numbers, cause=cause, fix=fix, note=note)


def check_overfit(cfg: Config, trace: OverfitTrace, steps: int) -> CheckResult:
    """The loss on one fixed batch must fall to at most OVERFIT_FACTOR of its initial value within `steps` steps."""
    note = _lr_note(cfg, trace, steps)
    done = len(trace.losses)
    numbers = {"steps": steps, "steps_done": done, "batch_size": trace.batch_size, "lr": trace.lr, "threshold_factor": OVERFIT_FACTOR, "losses": trace.losses,
               "seconds": trace.seconds, "seconds_per_step": trace.seconds_per_step, "budget_seconds": trace.budget_s if math.isfinite(trace.budget_s) else None}
    if trace.error and done < steps:
        first = trace.error.splitlines()[0][:300]
        return CheckResult(OVERFIT, OVERFIT_TITLE, Status.FAIL, f"stopped after {done} of {steps} steps", numbers, cause=first, fix=_error_fix(first), note=note)
    factor = trace.final / trace.initial if trace.initial > 0 else 0.0
    numbers.update(initial_loss=trace.initial, final_loss=trace.final, factor=factor)
    ended = f" of {steps} (its {trace.budget_s:g} s budget ran out at {trace.seconds_per_step:.1f} s a step)" if trace.out_of_budget else ""
    summary = (
        f"loss {trace.initial:.3f} -> {trace.final:.3f} in {done} steps{ended} (x{factor:.2f}, pass at <= x{OVERFIT_FACTOR:g}; "
        f"final = mean of the last {min(TAIL, done)}) at LR {trace.lr:.3g}"
    )
    if factor <= OVERFIT_FACTOR:
        return CheckResult(OVERFIT, OVERFIT_TITLE, Status.PASS, summary, numbers, note=note)
    if trace.out_of_budget:
        cause = f"a training step takes {trace.seconds_per_step:.1f} s here, so {steps} steps do not fit in the check's {trace.budget_s:g} s; {done} steps are too few to tell whether the model can learn"
        needed = math.ceil(trace.seconds_per_step * steps * 1.2)
        return CheckResult(OVERFIT, OVERFIT_TITLE, Status.WARN, summary, numbers, cause=cause, fix=f"see 'speed and ETA' for why a step is this slow; to judge anyway, give the check more time (--check-seconds {needed})", note=note)
    if trace.lr == 0:
        cause, fix = "the learning rate is 0", "SOLVER.BASE_LR > 0 (bag of tricks: 0.00035 with Adam)"
    elif not trace.weights_moved:
        cause, fix = "the weights did not change (see 'weights change')", "fix the weights-change failure first"
    elif factor > 1.5:
        cause = "the loss rose: the learning rate is too high for this optimiser"
        fix = f"lower SOLVER.BASE_LR (now {cfg.SOLVER.BASE_LR:g})"
    else:
        cause = "the loss fell too little: the learning rate is too low to learn in these steps, or the targets do not belong to the images"
        fix = f"try more steps (--steps {steps * 3}); check SOLVER.BASE_LR ({cfg.SOLVER.BASE_LR:g}) and the labels"
    return CheckResult(OVERFIT, OVERFIT_TITLE, Status.FAIL, summary, numbers, cause=cause, fix=fix, note=note)


def _lr_note(cfg: Config, trace: OverfitTrace, steps: int) -> str:
    solver = cfg.SOLVER
    text = f"{steps} real {solver.OPT} steps (AMP {'on' if solver.AMP.ENABLED else 'off'}) on one fixed batch of {trace.batch_size} images"
    if solver.WARMUP_ITERS > 0:
        text += (
            f", at the configured peak LR {trace.lr:.3g} with warmup skipped: warmup would start at "
            f"WARMUP_FACTOR x BASE_LR = {solver.WARMUP_FACTOR * solver.BASE_LR:.3g}, too small to judge learning in {steps} steps"
        )
    return text


def _error_fix(error: str) -> str:
    if "OutOfMemory" in error or "out of memory" in error:
        return "lower SOLVER.IMS_PER_BATCH or INPUT.SIZE_TRAIN, or enable SOLVER.AMP"
    if "Loss became" in error:
        return "lower SOLVER.BASE_LR; with AMP, try SOLVER.AMP.ENABLED False to see whether fp16 overflows"
    return fix_for_error("the training step")
