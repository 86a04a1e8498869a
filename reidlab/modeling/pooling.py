"""Global pooling of a feature map to one vector per image: average or generalized mean (GeM)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GlobalAvgPool(nn.Module):
    """Mean over the spatial positions: (B, C, H, W) -> (B, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


class GeneralizedMeanPooling(nn.Module):
    """GeM (Radenovic et al.): (mean over positions of clamp(x, eps)^p)^(1/p), p fixed.

    p=1 is average pooling, p->inf max pooling; p=3 is the usual ReID choice.
    Computed in float32 so that x^p cannot overflow under fp16 autocast.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = p
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p
        pooled = F.adaptive_avg_pool2d(x.float().clamp(min=self.eps).pow(p), 1).pow(1.0 / p)
        return pooled.flatten(1)

    def extra_repr(self) -> str:
        return f"p={self.p}, eps={self.eps}"


class GeneralizedMeanPoolingP(GeneralizedMeanPooling):
    """GeM with a learnable exponent p (one scalar parameter, initialised to 3)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__(p, eps)
        self.p = nn.Parameter(torch.full((1,), float(p)))

    def extra_repr(self) -> str:
        return f"p={self.p.item():.4f} (learnable), eps={self.eps}"


POOL_LAYERS: dict[str, type[nn.Module]] = {
    "GlobalAvgPool": GlobalAvgPool,
    "GeneralizedMeanPooling": GeneralizedMeanPooling,
    "GeneralizedMeanPoolingP": GeneralizedMeanPoolingP,
}


def build_pooling(name: str) -> nn.Module:
    """The pooling layer named by MODEL.HEADS.POOL_LAYER."""
    if name not in POOL_LAYERS:
        raise ValueError(f"MODEL.HEADS.POOL_LAYER {name!r} is not one of {sorted(POOL_LAYERS)}")
    return POOL_LAYERS[name]()
