"""Evidence that a run's weights do not change: measured, or read off a flat curve at chance.

reidlab runs record update ratios ||dW||/||W|| per epoch, which measure it. A fast-reid run records
no such thing; there the sign is a cross-entropy that sits at chance (ln(#ids) for a Linear
classifier, the margin-adjusted CE at cosine 0 for a cosine one: see chance_level) from its first
logged iteration to its last, long after any optimiser would have moved it.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean

from reidlab.modeling.chance import ChanceLevel
from reidlab.research.diagnose.chance_level import chance_evidence, is_chance_ce, is_learning_accuracy, run_chance_level
from reidlab.research.runs import RunEvidence

RECENT_EPOCHS = 3
NOT_MOVING = 1e-8  # update ratio per epoch below this: the weights did not change
UNCHANGED = 0.999  # fraction of parameter values exactly unchanged over an epoch
MIN_FLAT_ITERATIONS = 500  # a curve shorter than this may simply not have started to fall
MIN_FLAT_POINTS = 5
FLAT_FALL = 0.02  # the last quarter of the curve less than 2 % below the first: it never fell
NO_ACCURACY = 0.01  # batch accuracy under 1 %: the classifier gets (almost) nothing right


@dataclass
class Standstill:
    """How we know: "measured" (update ratios) or "flat_curve" (CE at chance throughout), and the numbers."""

    kind: str
    evidence: dict
    chance: ChanceLevel | None = None  # the flat curve's chance level, where it could be computed


def measured_standstill(run: RunEvidence) -> Standstill | None:
    """update_ratio ~ 0 (or every value unchanged) in the last epochs while the loss is not 0."""
    recent = [r for r in run.history[-RECENT_EPOCHS:] if r.get("update_ratio_head") is not None]
    losses = [r.get("loss") for r in recent if r.get("loss") is not None]
    if not recent or not losses or max(losses) <= 1e-6:
        return None
    ratios = [max(r.get("update_ratio_backbone") or 0.0, r["update_ratio_head"]) for r in recent]
    unchanged = [r.get("unchanged_fraction") for r in recent if r.get("unchanged_fraction") is not None]
    if not (max(ratios) < NOT_MOVING or (unchanged and min(unchanged) >= UNCHANGED)):
        return None
    evidence = {
        "max_update_ratio_last_epochs": float(f"{max(ratios):.3g}"),
        "epochs_checked": len(recent),
        "mean_loss": float(f"{mean(losses):.5g}"),
    }
    if unchanged:
        evidence["min_unchanged_fraction"] = round(min(unchanged), 4)
    return Standstill("measured", evidence)


def flat_curve_standstill(run: RunEvidence) -> Standstill | None:
    """On a per-iteration curve (no update ratios): CE no lower at the end than at the start, and at chance.

    Without the number of identities (or with a CLS_LAYER reidlab does not know), chance cannot be
    computed: then a batch accuracy of about 0 throughout stands in for it.
    """
    if not run.iterations:
        return None
    scale = float(run.setting("MODEL.LOSSES.CE.SCALE") or 0.0)
    curve = run.curve("loss_ce")
    if scale <= 0 or len(curve) < MIN_FLAT_POINTS or curve[-1][0] - curve[0][0] < MIN_FLAT_ITERATIONS:
        return None
    quarter = max(1, len(curve) // 4)
    first = mean(v for _, v in curve[:quarter]) / scale
    last = mean(v for _, v in curve[-quarter:]) / scale
    accuracy = [v for _, v in run.curve("cls_accuracy")][-quarter:]
    chance = run_chance_level(run)
    if last < (1 - FLAT_FALL) * first:
        return None
    if chance is not None:
        if not is_chance_ce(last, chance) or (accuracy and is_learning_accuracy(mean(accuracy), chance.num_classes)):
            return None
    elif not accuracy or mean(accuracy) >= NO_ACCURACY:
        return None
    evidence: dict = {
        "ce_first_logged": round(first, 4),
        "ce_last_logged": round(last, 4),
        **(chance_evidence(chance) if chance else {"chance_ce": "unknown"}),
        "training_ids": run.num_classes or "unknown",
        "iterations_logged": f"{curve[0][0]}..{curve[-1][0]}",
    }
    if accuracy:
        evidence["mean_batch_accuracy_last"] = round(mean(accuracy), 4)
    triplet = run.curve("loss_triplet")
    if len(triplet) >= MIN_FLAT_POINTS:
        evidence["triplet_first_logged"] = round(mean(v for _, v in triplet[:quarter]), 4)
        evidence["triplet_last_logged"] = round(mean(v for _, v in triplet[-quarter:]), 4)
    return Standstill("flat_curve", evidence, chance)
