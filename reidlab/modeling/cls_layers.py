"""fast-reid's classifier layers (MODEL.HEADS.CLS_LAYER): the margin and scale applied to cosine logits.

The head outputs cosine similarities between the neck feature and the class weights; the
margin needs the targets, so it is applied here, in the loss, and the model keeps its one-argument
forward. Formulas as fast-reid's fastreid/layers/any_softmax.py (s = SCALE, m = MARGIN, cos of the true class = cos_y):
  - CosSoftmax (CosFace): s * (cos - m) on the true class, s * cos elsewhere;
  - ArcSoftmax (ArcFace): s * cos(acos(cos_y) + m) on the true class, s * cos elsewhere;
  - CircleSoftmax (Circle loss): s * a_p * (cos_y - (1 - m)) on the true class, with a_p = max(1 + m - cos_y, 0),
    and s * a_n * (cos - m) elsewhere, with a_n = max(cos + m, 0); a_p and a_n are constants to the gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

COSINE_LAYERS = ("ArcSoftmax", "CircleSoftmax", "CosSoftmax")
_ACOS_EPS = 1e-6  # acos has an infinite slope at +-1; fast-reid leaves that edge open


def is_cosine_layer(cls_layer: str) -> bool:
    """Whether the head should output cosine logits (every CLS_LAYER but Linear); an unknown name is a ValueError."""
    if cls_layer != "Linear" and cls_layer not in COSINE_LAYERS:
        raise ValueError(f"MODEL.HEADS.CLS_LAYER {cls_layer!r} is not one of {['Linear', *COSINE_LAYERS]}")
    return cls_layer in COSINE_LAYERS


def margin_logits(cls_layer: str, logits: torch.Tensor, targets: torch.Tensor, scale: float, margin: float) -> torch.Tensor:
    """The logits the cross-entropy sees: Linear's unchanged, a cosine layer's with its margin and scale."""
    if not is_cosine_layer(cls_layer):
        return logits
    cosine = logits.float()
    is_target = F.one_hot(targets.long(), cosine.shape[1]).bool()
    if cls_layer == "CosSoftmax":
        out = torch.where(is_target, cosine - margin, cosine)
    elif cls_layer == "ArcSoftmax":
        angle = torch.acos(cosine.clamp(-1.0 + _ACOS_EPS, 1.0 - _ACOS_EPS))
        out = torch.where(is_target, torch.cos(angle + margin), cosine)
    else:
        alpha_p = (1.0 + margin - cosine.detach()).clamp(min=0.0)
        alpha_n = (cosine.detach() + margin).clamp(min=0.0)
        out = torch.where(is_target, alpha_p * (cosine - (1.0 - margin)), alpha_n * (cosine - margin))
    return out * scale
