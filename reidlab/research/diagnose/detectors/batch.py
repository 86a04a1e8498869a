"""Detectors of batch problems: a P x K batch too small for the triplet loss, an LR not scaled with the batch."""

from __future__ import annotations

from reidlab.research.batch_rules import MIN_IDENTITIES, MIN_INSTANCES, pk_layout, reference_lr, uses_identity_sampler, valid_instances
from reidlab.research.diagnose.findings import Finding, Severity
from reidlab.research.diagnose.remedies import Remedy, round_lr
from reidlab.research.runs import RunEvidence

LR_OFF_NOTE = 3.0  # BASE_LR this many times off the batch-scaled reference: a note
LR_OFF_WARNING = 10.0  # ... and this many: a warning


def small_pk_batch(run: RunEvidence) -> Finding | None:
    """Fewer than 2 instances or 4 identities per batch, or a batch that is not P x K at all."""
    batch, instances = _batch(run), int(run.setting("DATALOADER.NUM_INSTANCE"))
    sampler = str(run.setting("DATALOADER.SAMPLER_TRAIN"))
    triplet = "TripletLoss" in (run.setting("MODEL.LOSSES.NAME") or [])
    if not uses_identity_sampler(sampler):
        if not triplet:
            return None
        return Finding(
            "small_pk_batch",
            Severity.WARNING,
            f"Triplet loss with {sampler}: batches are random images, not P identities x K instances",
            {"sampler": sampler, "ims_per_batch": batch, "training_ids": run.num_classes},
            cause="With random batches most anchors have no positive in the batch, so the triplet term has little to learn from.",
            fix="Use DATALOADER.SAMPLER_TRAIN NaiveIdentitySampler with DATALOADER.NUM_INSTANCE 4.",
            remedies=[_pk_remedy(run)],
        )
    layout = pk_layout(batch, instances)
    if layout is None:
        return Finding(
            "small_pk_batch",
            Severity.CRITICAL,
            f"SOLVER.IMS_PER_BATCH {batch} is not a multiple of DATALOADER.NUM_INSTANCE {instances}",
            {"ims_per_batch": batch, "num_instance": instances},
            cause="The identity sampler builds batches of P identities x K instances; this batch cannot be split that way.",
            fix="Make IMS_PER_BATCH = P x NUM_INSTANCE with P >= 4 and NUM_INSTANCE >= 2.",
            remedies=[_pk_remedy(run)],
        )
    identities, _ = layout
    if instances >= MIN_INSTANCES and identities >= MIN_IDENTITIES:
        return None
    problems = []
    if instances < MIN_INSTANCES:
        problems.append(f"{instances} instance per identity: no positive pairs")
    if identities < MIN_IDENTITIES:
        problems.append(f"only {identities} identities per batch: few and easy negatives")
    return Finding(
        "small_pk_batch",
        Severity.WARNING,
        f"Batch too small for the P x K sampler: {identities} identities x {instances} instances ({'; '.join(problems)})",
        {"ims_per_batch": batch, "identities_per_batch": identities, "instances_per_identity": instances, "min_identities": MIN_IDENTITIES, "min_instances": MIN_INSTANCES},
        cause="Batch-hard mining needs positives (K >= 2) and a choice of negatives (P >= 4) in every batch.",
        fix="Raise SOLVER.IMS_PER_BATCH or set DATALOADER.NUM_INSTANCE so that K >= 2 and P >= 4 (e.g. 16 = 4 x 4), and scale BASE_LR with the batch.",
        remedies=[_pk_remedy(run)],
    )


def _pk_remedy(run: RunEvidence) -> Remedy:
    """The closest valid P x K batch, with the LR scaled by the reference rule."""
    batch, instances = _batch(run), int(run.setting("DATALOADER.NUM_INSTANCE"))
    changes: dict = {}
    if not uses_identity_sampler(str(run.setting("DATALOADER.SAMPLER_TRAIN"))):
        changes["DATALOADER.SAMPLER_TRAIN"] = "NaiveIdentitySampler"
    fitting = valid_instances(batch, instances, run.num_classes)
    new_batch = batch
    if fitting is None:
        fitting = max(instances, MIN_INSTANCES)
        new_batch = MIN_IDENTITIES * fitting
        changes["SOLVER.IMS_PER_BATCH"] = new_batch
        optimizer, lr = str(run.setting("SOLVER.OPT")), float(run.setting("SOLVER.BASE_LR"))
        changes["SOLVER.BASE_LR"] = round_lr(lr * reference_lr(optimizer, new_batch) / reference_lr(optimizer, batch))
    if fitting != instances:
        changes["DATALOADER.NUM_INSTANCE"] = fitting
    return Remedy(
        "fix_pk_batch",
        changes,
        tests=f"Does a proper P x K batch help the triplet loss? {new_batch // fitting} identities x {fitting} instances.",
        why=f"The run's batch ({batch} images, NUM_INSTANCE {instances}) gives the triplet loss too few positives or negatives.",
        origin="small_pk_batch",
    )


def lr_not_scaled(run: RunEvidence) -> Finding | None:
    """BASE_LR far from the reference for this optimiser and batch size."""
    batch, optimizer, lr = _batch(run), str(run.setting("SOLVER.OPT")), float(run.setting("SOLVER.BASE_LR"))
    if lr <= 0:
        return None  # weights_not_updating owns an LR of 0
    reference = reference_lr(optimizer, batch)
    ratio = lr / reference
    off = max(ratio, 1 / ratio)
    if off < LR_OFF_NOTE:
        return None
    rule = "linear" if optimizer == "SGD" else "square-root"
    direction = "higher" if ratio > 1 else "lower"
    return Finding(
        "lr_not_scaled",
        Severity.WARNING if off >= LR_OFF_WARNING else Severity.NOTE,
        f"BASE_LR {lr:g} is {off:.1f}x {direction} than the usual {reference:.3g} for {optimizer} at batch {batch}",
        {"base_lr": lr, "reference_lr": round_lr(reference), "ratio": round(ratio, 3), "ims_per_batch": batch, "optimizer": optimizer, "scaling_rule": rule},
        cause=f"The learning rate was not scaled with the batch size ({rule} rule from bag of tricks' {optimizer} at 64 images).",
        fix=f"Try SOLVER.BASE_LR {reference:.3g}, or scale your tuned LR by the batch ratio.",
        remedies=[
            Remedy(
                "fix_lr_scaling",
                {"SOLVER.BASE_LR": round_lr(reference)},
                tests=f"Is the LR off for this batch size? BASE_LR {reference:.3g} ({rule} rule).",
                why=f"BASE_LR {lr:g} is {off:.1f}x {direction} than the batch-scaled reference.",
                origin="lr_not_scaled",
            )
        ],
    )


def _batch(run: RunEvidence) -> int:
    return int(run.setting("SOLVER.IMS_PER_BATCH"))
