"""Cross-entropy at chance level for a run: its classifier's chance CE, the floor label smoothing allows, and the band that counts as chance.

The chance value itself comes from reidlab.modeling's ChanceLevel (ln(#ids) for a Linear
classifier, the margin-adjusted CE at cosine 0 for ArcSoftmax / CircleSoftmax / CosSoftmax),
read off the run's config: reidlab's config.yaml or fast-reid's, whose MODEL.HEADS keys are the same.
Shared by the detectors that read a CE curve (`ce_at_chance`, and `weights_not_updating` on a
fast-reid iteration curve), so both call the same numbers "chance".
"""

from __future__ import annotations

import math

from reidlab.modeling.chance import ChanceLevel
from reidlab.modeling.cls_layers import COSINE_LAYERS
from reidlab.research.runs import RunEvidence

CHANCE_BAND = 0.1  # CE within 10 % of the way from chance down to its floor counts as chance
ABOVE_CHANCE = 1.25  # CE far above chance is confident and wrong: divergence's case, not chance
LEARNING_ACCURACY = 2.0  # batch accuracy above twice chance: the classifier is learning after all

# MODEL.HEADS.CLS_LAYER as fast-reid spells it, any case; fast-reid 1.0's amSoftmax is CosFace's s * (cos - m).
_LAYER_NAMES = {name.lower(): name for name in ("Linear", *COSINE_LAYERS)} | {"amsoftmax": "CosSoftmax"}


def run_chance_level(run: RunEvidence) -> ChanceLevel | None:
    """The chance level of the run's classifier; None without at least 2 training ids or for a CLS_LAYER reidlab does not know."""
    classes = run.num_classes
    layer = _LAYER_NAMES.get(str(run.setting("MODEL.HEADS.CLS_LAYER") or "Linear").lower())
    if not classes or classes < 2 or layer is None:
        return None
    return ChanceLevel(
        layer,
        classes,
        scale=_number(run.setting("MODEL.HEADS.SCALE"), 1.0),
        margin=_number(run.setting("MODEL.HEADS.MARGIN"), 0.0),
        epsilon=_number(run.setting("MODEL.LOSSES.CE.EPSILON"), 0.0),
    )


def smoothed_ce_floor(classes: int, epsilon: float) -> float:
    """The lowest CE reachable with fast-reid's label smoothing: the entropy of the smoothed target."""
    if epsilon <= 0:
        return 0.0
    return -(1 - epsilon) * math.log(1 - epsilon) - epsilon * math.log(epsilon / (classes - 1))


def is_chance_ce(ce: float, chance: ChanceLevel) -> bool:
    """CE (without its loss weight) between just under the chance value and well above it."""
    value = chance.value
    threshold = value - CHANCE_BAND * (value - smoothed_ce_floor(chance.num_classes, chance.epsilon))
    return threshold <= ce <= ABOVE_CHANCE * value


def is_learning_accuracy(accuracy: float, classes: int) -> bool:
    """Training-batch accuracy clearly above guessing (1 / classes)."""
    return accuracy > LEARNING_ACCURACY / classes


def chance_evidence(chance: ChanceLevel) -> dict:
    """The numbers a finding shows for chance: the value, where it comes from, and ln(#ids) beside it for a cosine layer."""
    evidence: dict = {"chance_ce": round(chance.value, 4), "chance_ce_basis": chance.basis}
    if chance.is_cosine:
        evidence["ln_ids"] = round(chance.ln_classes, 4)
    return evidence


def _number(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
