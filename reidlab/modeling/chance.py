"""Cross-entropy at chance level: the loss of a classifier that cannot tell the identities apart.

For a Linear classifier that is ln(#classes), label smoothing or not. A cosine classifier
(MODEL.HEADS.CLS_LAYER ArcSoftmax, CircleSoftmax, CosSoftmax) that has learned nothing has every
cosine at about 0, and its margin and scale turn those zeros into unequal logits: CircleSoftmax
with SCALE 64 and MARGIN 0.35 sits near 48 + ln(#classes). The value is computed by running the
training loss itself (margin_logits, then cross_entropy_loss) on all-equal inputs, so it cannot
disagree with the loss that is trained. The doctor, STOPPING_REASON.txt and diagnose all use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch

from reidlab.config import Config
from reidlab.modeling.cls_layers import is_cosine_layer, margin_logits
from reidlab.modeling.losses import cross_entropy_loss


@torch.no_grad()
def chance_cross_entropy(cls_layer: str, num_classes: int, scale: float = 1.0, margin: float = 0.0, epsilon: float = 0.0) -> float:
    """CE (without CE.SCALE) of a classifier whose outputs are the same for every class.

    The inputs are zeros: equal logits for Linear, every cosine 0 for a cosine layer. Which class
    is the target does not matter (every class looks the same). epsilon is CE.EPSILON, fast-reid's
    label smoothing; a negative value (fast-reid's adaptive mode) smooths by about 0 at chance.
    """
    if num_classes < 1:
        raise ValueError(f"the classifier needs at least one class, got num_classes={num_classes}")
    equal = torch.zeros(1, num_classes)
    target = torch.zeros(1, dtype=torch.long)
    logits = margin_logits(cls_layer, equal, target, float(scale), float(margin))
    return float(cross_entropy_loss(logits, target, max(float(epsilon), 0.0)))


@dataclass(frozen=True)
class ChanceLevel:
    """The chance-level CE of one classifier configuration, with the words that say where it comes from."""

    cls_layer: str
    num_classes: int
    scale: float = 1.0
    margin: float = 0.0
    epsilon: float = 0.0

    @classmethod
    def of(cls, cfg: Config, num_classes: int) -> ChanceLevel:
        """The chance level of cfg's classifier (MODEL.HEADS.CLS_LAYER, SCALE, MARGIN; CE.EPSILON) with num_classes outputs."""
        heads = cfg.MODEL.HEADS
        return cls(heads.CLS_LAYER, num_classes, heads.SCALE, heads.MARGIN, cfg.MODEL.LOSSES.CE.EPSILON)

    @cached_property
    def value(self) -> float:
        return chance_cross_entropy(self.cls_layer, self.num_classes, self.scale, self.margin, self.epsilon)

    @property
    def ln_classes(self) -> float:
        return math.log(self.num_classes)

    @property
    def is_cosine(self) -> bool:
        return is_cosine_layer(self.cls_layer)

    @property
    def basis(self) -> str:
        """Where the value comes from, without the number: 'ln(751)', or the cosine layer and its settings."""
        if not self.is_cosine:
            return f"ln({self.num_classes})"
        smoothing = f", CE.EPSILON {self.epsilon:g}" if self.epsilon > 0 else ""
        return f"{self.cls_layer} CE at cosine 0 (SCALE {self.scale:g}, MARGIN {self.margin:g}{smoothing}, {self.num_classes} classes)"

    def describe(self) -> str:
        """The value in words: 'ln(751) = 6.621' for Linear; for a cosine layer its value, settings and why it is not ln(#classes)."""
        if not self.is_cosine:
            return f"ln({self.num_classes}) = {self.value:.3f}"
        return f"{self.value:.3f}, the {self.basis}; not ln({self.num_classes}) = {self.ln_classes:.3f}, which holds for a Linear classifier only"
