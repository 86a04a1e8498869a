"""Detectors of silent failures that look normal in the loss log: weights that never change, a frozen backbone.

They read the training-health signals (update ratios, gradient norms) where the run recorded them,
and a fast-reid run's flat iteration curve where it did not.
"""

from __future__ import annotations

from statistics import mean

from reidlab.research.batch_rules import reference_lr
from reidlab.research.diagnose.detectors.update_attribution import Attribution, Verdict, attribute
from reidlab.research.diagnose.detectors.weights_standstill import NOT_MOVING, Standstill, flat_curve_standstill, measured_standstill
from reidlab.research.diagnose.findings import Finding, Severity
from reidlab.research.diagnose.remedies import Remedy, round_lr
from reidlab.research.diagnose.update_causes import FASTREID_ZERO_GRAD, ZERO_LR, known_causes_text
from reidlab.research.runs import RunEvidence

RECENT_EPOCHS = 3
MOVING = 1e-6  # a group above this is being trained


def weights_not_updating(run: RunEvidence) -> Finding | None:
    """No training happens at all: measured (update ratios ~ 0) or, on fast-reid's curve, CE flat at chance.

    The finding names the known causes and, where the run's files allow, which one applies and why.
    """
    standstill = measured_standstill(run) or flat_curve_standstill(run)
    if standstill is None:
        return None
    attribution = attribute(run)
    primary = attribution.primary
    evidence = dict(standstill.evidence)
    grads = [r["grad_norm"] for r in run.history[-RECENT_EPOCHS:] if r.get("grad_norm") is not None]
    if grads:
        evidence["mean_grad_norm"] = float(f"{mean(grads):.4g}")
    lrs = run.last_values("lr", RECENT_EPOCHS)
    if lrs:
        evidence["lr"] = max(lrs)
    evidence["cause"] = primary.cause.code if primary else "unknown"
    if primary:
        evidence.update(primary.evidence)
    return Finding(
        "weights_not_updating",
        Severity.CRITICAL,
        _title(standstill, primary),
        evidence,
        cause=_cause_text(attribution),
        fix=_fix_text(primary),
        remedies=[_lr_remedy(run)] if primary and primary.cause is ZERO_LR and float(run.setting("SOLVER.BASE_LR") or 0) == 0 else [],
    )


def _title(standstill: Standstill, primary: Verdict | None) -> str:
    if standstill.kind == "measured":
        return "The weights are not updating: the loss is not 0 but no parameter changes"
    numbers = standstill.evidence
    if standstill.chance is None:
        curve = f"loss_cls stays flat ({numbers['ce_first_logged']:.3f} -> {numbers['ce_last_logged']:.3f}) with a batch accuracy of about 0"
    else:
        curve = f"loss_cls stays at chance ({numbers['ce_last_logged']:.3f}; {standstill.chance.describe()})"
    if primary and primary.cause is FASTREID_ZERO_GRAD:
        versions = f"fastreid {primary.evidence['fastreid_version']} on PyTorch {primary.evidence['torch_version']}"
        return f"fast-reid's zero_grad bug: the optimiser never steps ({versions}); {curve}"
    return f"The weights appear not to update: {curve} over iterations {numbers['iterations_logged']}"


def _cause_text(attribution: Attribution) -> str:
    parts = []
    if attribution.primary:
        first = attribution.primary
        parts.append(f"{_sentence(first.cause.what)}. Here: {first.reason}.")
        parts += [f"Also: {v.cause.what}. Here: {v.reason}." for v in attribution.applies[1:]]
    else:
        parts.append("The run's files do not show which known cause applies. Still possible: " + "; ".join(attribution.unknown) + ".")
    if attribution.ruled_out:
        parts.append("Ruled out: " + "; ".join(attribution.ruled_out) + ".")
    parts.append(known_causes_text())
    return " ".join(parts)


def _fix_text(primary: Verdict | None) -> str:
    doctor = "`reidlab doctor` checks in seconds that one optimiser step changes the weights."
    if primary is not None:
        return f"{_sentence(primary.cause.fix)}. {doctor}"
    return (
        "Make one optimiser step change the weights before anything else: LR above 0, gradients reaching the parameters, "
        "optimizer.zero_grad() before backward() (not between backward() and step()), and a GradScaler that is not skipping every step. " + doctor
    )


def _sentence(text: str) -> str:
    """Capitalised for the start of a sentence, except names that are lower case (fast-reid)."""
    return text if text.startswith("fast-reid") else text[0].upper() + text[1:]


def _lr_remedy(run: RunEvidence) -> Remedy:
    lr = float(run.setting("SOLVER.BASE_LR"))
    optimizer, batch = str(run.setting("SOLVER.OPT")), int(run.setting("SOLVER.IMS_PER_BATCH"))
    reference = round_lr(reference_lr(optimizer, batch))
    return Remedy(
        "fix_learning_rate",
        {"SOLVER.BASE_LR": reference},
        tests=f"Does the run learn with a working learning rate? BASE_LR {reference:g} ({optimizer}, batch {batch}).",
        why=f"The learning rate was 0 (BASE_LR {lr:g}), so no step changed the weights.",
        origin="weights_not_updating",
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
