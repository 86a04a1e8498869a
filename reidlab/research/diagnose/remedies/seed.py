"""The seed's five remedies, each relative to the run's own config.

They are always proposed, relative to the run's config so that they mean the same on any
data set; detectors add targeted ones for their findings.
"""

from __future__ import annotations

import math
from typing import Any

from reidlab.engine.schedule_fit import sane_warmup_iters, warmup_fraction, warmup_too_long
from reidlab.research.batch_rules import batches_per_epoch, uses_identity_sampler, valid_instances
from reidlab.research.diagnose.remedies.remedy import Remedy, round_lr
from reidlab.research.runs import RunEvidence

SMALL_BATCH = 8
SMALL_BATCH_LR = 0.001
SEED_STEPS = (20, 50)
SEED_STEPS_OF_MAX_EPOCH = 120  # the seed's steps were meant for bag of tricks' 120 epochs


def seed_remedies(run: RunEvidence) -> list[Remedy]:
    """The seed's five remedies, each relative to the run's own config, with a warm-up that fits."""
    remedies = [higher_lr(run), cosine_annealing(run), heavy_triplet(run), aggressive_lr_drop(run), smaller_batch_higher_lr(run)]
    for remedy in remedies:
        _fit_warmup(run, remedy)
    return remedies


def _fit_warmup(run: RunEvidence, remedy: Remedy) -> None:
    """Shorten a warm-up that would cover most of the remedy's run, or the remedy could show nothing."""
    batch = int(remedy.changes.get("SOLVER.IMS_PER_BATCH", run.setting("SOLVER.IMS_PER_BATCH")))
    warmup, max_epoch = int(run.setting("SOLVER.WARMUP_ITERS") or 0), int(run.setting("SOLVER.MAX_EPOCH"))
    per_epoch = batches_per_epoch(run.num_train_images, batch) if run.num_train_images else 0
    if per_epoch and warmup_too_long(warmup, per_epoch, max_epoch):
        remedy.changes["SOLVER.WARMUP_ITERS"] = sane_warmup_iters(warmup, per_epoch, max_epoch)
        share = 100 * warmup_fraction(warmup, per_epoch, max_epoch)
        remedy.notes.append(f"The run's warm-up ({warmup} iterations) would cover {share:.0f}% of this run; shortened to 5% of training.")


def higher_lr(run: RunEvidence) -> Remedy:
    lr = float(run.setting("SOLVER.BASE_LR"))
    return Remedy(
        "solution_1_higher_lr",
        {"SOLVER.BASE_LR": round_lr(2 * lr)},
        tests="Is the learning rate too low? Twice SOLVER.BASE_LR, everything else unchanged.",
        why=f"A plateau with a slowly falling loss is the classic sign of a learning rate that is too low ({lr:g} here).",
    )


def cosine_annealing(run: RunEvidence) -> Remedy:
    remedy = Remedy(
        "solution_2_cosine_annealing",
        {"SOLVER.SCHED": "CosineAnnealingLR"},
        tests="Does a smooth decay beat the step schedule? Cosine from BASE_LR to ETA_MIN_LR over the run.",
        why="Step drops leave long flat stretches at one LR; cosine spends more epochs at small LRs, where ReID fine-tunes.",
    )
    if run.setting("SOLVER.SCHED") == "CosineAnnealingLR":
        remedy.notes.append("The run already used cosine annealing: this is a control rerun that measures seed-to-seed noise.")
    return remedy


def heavy_triplet(run: RunEvidence) -> Remedy:
    changes: dict[str, Any] = {"MODEL.LOSSES.TRI.SCALE": 2.0}
    losses = list(run.setting("MODEL.LOSSES.NAME") or [])
    notes = []
    if "TripletLoss" not in losses:
        changes["MODEL.LOSSES.NAME"] = [*losses, "TripletLoss"]
        notes.append("The run had no triplet loss; this adds it.")
    changes.update(_identity_batches(run, int(run.setting("SOLVER.IMS_PER_BATCH"))))
    return Remedy(
        "solution_3_heavy_triplet",
        changes,
        tests="Does the metric-learning term need more weight? Triplet loss weight 2.0.",
        why="When cross-entropy dominates the total loss, the embedding is shaped for classification more than for retrieval.",
        notes=notes,
    )


def aggressive_lr_drop(run: RunEvidence) -> Remedy:
    lr = float(run.setting("SOLVER.BASE_LR"))
    max_epoch = int(run.setting("SOLVER.MAX_EPOCH"))
    steps = _seed_steps(max_epoch, _warmup_epochs(run))
    return Remedy(
        "solution_4_aggressive_lr_drop",
        {"SOLVER.BASE_LR": round_lr(2 * lr), "SOLVER.SCHED": "MultiStepLR", "SOLVER.STEPS": steps},
        tests=f"Coarse-to-fine: a higher initial LR (2x) and early drops at epochs {steps}.",
        why="A high LR explores, early decays then settle; the same LR as solution_1, so the two differ only in the schedule.",
        notes=[] if list(steps) == list(SEED_STEPS) else [f"The seed's steps [20, 50] do not fit MAX_EPOCH {max_epoch}; scaled to {steps}."],
    )


def smaller_batch_higher_lr(run: RunEvidence) -> Remedy:
    changes: dict[str, Any] = {"SOLVER.IMS_PER_BATCH": SMALL_BATCH, "SOLVER.BASE_LR": SMALL_BATCH_LR}
    changes.update(_identity_batches(run, SMALL_BATCH))
    return Remedy(
        "solution_5_smaller_batch_higher_lr",
        changes,
        tests=f"Do small batches with a high LR find harder negatives? IMS_PER_BATCH {SMALL_BATCH}, BASE_LR {SMALL_BATCH_LR:g}.",
        why="The seed's hypothesis: a large batch averages away the hard samples. It runs against the batch-size scaling rule, so expect noise.",
    )


def _identity_batches(run: RunEvidence, batch: int) -> dict[str, Any]:
    """Keys that keep a batch a valid P x K batch (K >= 2, P >= 4) for the triplet loss."""
    changes: dict[str, Any] = {}
    sampler = str(run.setting("DATALOADER.SAMPLER_TRAIN"))
    if not uses_identity_sampler(sampler):
        sampler = "NaiveIdentitySampler"
        changes["DATALOADER.SAMPLER_TRAIN"] = sampler
    current = int(run.setting("DATALOADER.NUM_INSTANCE"))
    instances = valid_instances(batch, current, run.num_classes) or 2
    if instances != current:
        changes["DATALOADER.NUM_INSTANCE"] = instances
    return changes


def _warmup_epochs(run: RunEvidence) -> int:
    """Epochs of warm-up as the remedy runs it: shortened by `_fit_warmup` when it outlasts the run."""
    ipe, max_epoch = run.iters_per_epoch, int(run.setting("SOLVER.MAX_EPOCH"))
    warmup = sane_warmup_iters(int(run.setting("SOLVER.WARMUP_ITERS") or 0), ipe or 0, max_epoch)
    return math.ceil(warmup / ipe) if ipe and warmup else 0


def _seed_steps(max_epoch: int, warmup_epochs: int) -> list[int]:
    """[20, 50] when they fit; otherwise the same fractions of MAX_EPOCH, after warmup and before the end."""
    if SEED_STEPS[1] < max_epoch and SEED_STEPS[0] > warmup_epochs:
        return list(SEED_STEPS)
    first = max(round(max_epoch * SEED_STEPS[0] / SEED_STEPS_OF_MAX_EPOCH), warmup_epochs + 1, 1)
    second = max(round(max_epoch * SEED_STEPS[1] / SEED_STEPS_OF_MAX_EPOCH), first + 1)
    return [first, second]
