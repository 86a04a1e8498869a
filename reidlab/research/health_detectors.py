"""Detectors that read the training-health signals (update ratios, gradient norms) when the run recorded them.

These catch silent failures that look normal in the loss log: weights that never change, a frozen backbone.
"""

from __future__ import annotations

from statistics import mean

from .batch_rules import reference_lr
from .findings import Finding, Severity
from .remedies import Remedy, round_lr
from .run_evidence import RunEvidence

RECENT_EPOCHS = 3
NOT_MOVING = 1e-8  # update ratio per epoch below this: the weights did not change
UNCHANGED = 0.999  # fraction of parameter values exactly unchanged over an epoch
MOVING = 1e-6  # a group above this is being trained


def weights_not_updating(run: RunEvidence) -> Finding | None:
    """update_ratio ~ 0 (or every value unchanged) while the loss is not 0: no training happens at all."""
    recent = [r for r in run.history[-RECENT_EPOCHS:] if r.get("update_ratio_head") is not None]
    losses = [r.get("loss") for r in recent if r.get("loss") is not None]
    if not recent or not losses or max(losses) <= 1e-6:
        return None
    ratios = [max(r.get("update_ratio_backbone") or 0.0, r["update_ratio_head"]) for r in recent]
    unchanged = [r.get("unchanged_fraction") for r in recent if r.get("unchanged_fraction") is not None]
    frozen = max(ratios) < NOT_MOVING or (unchanged and min(unchanged) >= UNCHANGED)
    if not frozen:
        return None
    grad = [r.get("grad_norm") for r in recent if r.get("grad_norm") is not None]
    lrs = [r.get("lr") for r in recent if r.get("lr") is not None]
    evidence = {
        "max_update_ratio_last_epochs": float(f"{max(ratios):.3g}"),
        "epochs_checked": len(recent),
        "mean_loss": float(f"{mean(losses):.5g}"),
    }
    if unchanged:
        evidence["min_unchanged_fraction"] = round(min(unchanged), 4)
    if grad:
        evidence["mean_grad_norm"] = float(f"{mean(grad):.4g}")
    if lrs:
        evidence["lr"] = max(lrs)
    cause, remedies = _why_not_updating(run, grad, lrs)
    return Finding(
        "weights_not_updating",
        Severity.CRITICAL,
        "The weights are not updating: the loss is not 0 but no parameter changes",
        evidence,
        cause=cause,
        fix="Make one optimiser step change the weights before anything else: LR above 0, gradients reaching the parameters, "
        "optimizer.zero_grad() before backward() (not between backward() and step()), and a GradScaler that is not skipping every step. "
        "`reidlab doctor` checks this in seconds.",
        remedies=remedies,
    )


def _why_not_updating(run: RunEvidence, grad: list[float], lrs: list[float]) -> tuple[str, list[Remedy]]:
    if lrs and max(lrs) == 0.0:
        lr = float(run.setting("SOLVER.BASE_LR"))
        optimizer, batch = str(run.setting("SOLVER.OPT")), int(run.setting("SOLVER.IMS_PER_BATCH"))
        reference = round_lr(reference_lr(optimizer, batch))
        remedy = Remedy(
            "fix_learning_rate",
            {"SOLVER.BASE_LR": reference},
            tests=f"Does the run learn with a working learning rate? BASE_LR {reference:g} ({optimizer}, batch {batch}).",
            why=f"The learning rate was 0 (BASE_LR {lr:g}), so no step changed the weights.",
            origin="weights_not_updating",
        )
        return "The learning rate is 0, so every optimiser step is empty.", [remedy]
    if grad and max(grad) == 0.0:
        return "No gradient reaches the weights (grad_norm 0): every parameter is frozen or the loss is detached from the model.", []
    return (
        "Gradients exist (grad_norm above 0) but the optimiser step does not apply them: zero_grad() between backward() and step() "
        "(the fast-reid + torch 2 bug), a GradScaler skipping every step on inf gradients, or parameters missing from the optimiser.",
        [],
    )


def frozen_backbone(run: RunEvidence) -> Finding | None:
    """The head trains but the backbone does not: features never adapt to people."""
    recent = [r for r in run.history[-RECENT_EPOCHS:] if r.get("update_ratio_backbone") is not None and r.get("update_ratio_head") is not None]
    if not recent:
        return None
    backbone = max(r["update_ratio_backbone"] for r in recent)
    head = min(r["update_ratio_head"] for r in recent)
    if not (backbone < NOT_MOVING and head > MOVING):
        return None
    return Finding(
        "frozen_backbone",
        Severity.WARNING,
        "The backbone is not updating; only the head trains",
        {"max_backbone_update_ratio": float(f"{backbone:.3g}"), "min_head_update_ratio": float(f"{head:.3g}"), "epochs_checked": len(recent)},
        cause="The backbone's parameters do not change while the head's do: frozen layers (requires_grad False), a zero backbone LR, "
        "or the backbone left out of the optimiser.",
        fix="Unfreeze the backbone (or end the freeze after a few hundred iterations) and check its parameter group's LR.",
    )
