"""Non-local block (Wang et al. 2018), the dot-product form fast-reid inserts into ResNet stages (AGW, SBS).

Every position of the feature map gets the mean of all positions' values, weighted by the
similarity of their embeddings, added back as a residual. torch has no such layer, hence our own.
"""

from __future__ import annotations

import torch
from torch import nn


class NonLocalBlock(nn.Module):
    """(B, C, H, W) -> (B, C, H, W): x + BN(W(f(x) g(x))), with f the dot-product affinity divided by H*W.

    theta, phi and g are 1x1 convolutions to C // reduction channels; the output BatchNorm
    starts at weight 0 and bias 0, so a new block is the identity and does not disturb
    pretrained weights around it.
    """

    def __init__(self, in_channels: int, reduction: int = 2, inter_channels: int | None = None) -> None:
        super().__init__()
        # fast-reid 1.x computes its width as reduc_ratio // reduc_ratio = 1; its checkpoints need inter_channels=1.
        inter = inter_channels or max(in_channels // reduction, 1)
        self.in_channels, self.inter_channels = in_channels, inter
        self.theta = nn.Conv2d(in_channels, inter, kernel_size=1)
        self.phi = nn.Conv2d(in_channels, inter, kernel_size=1)
        self.g = nn.Conv2d(in_channels, inter, kernel_size=1)
        self.W = nn.Sequential(nn.Conv2d(inter, in_channels, kernel_size=1), nn.BatchNorm2d(in_channels))
        nn.init.zeros_(self.W[1].weight)
        nn.init.zeros_(self.W[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)  # (B, N, C')
        phi = self.phi(x).flatten(2)  # (B, C', N)
        g = self.g(x).flatten(2).transpose(1, 2)  # (B, N, C')
        affinity = (theta @ phi) / (height * width)  # (B, N, N)
        y = (affinity @ g).transpose(1, 2).reshape(batch, self.inter_channels, height, width)
        return x + self.W(y)
