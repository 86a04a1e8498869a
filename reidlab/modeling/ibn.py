"""IBN-a (Pan et al. 2018, IBN-Net): InstanceNorm on half the channels of a block's first norm layer.

Instance normalisation removes per-image style (colour, lighting), which helps ReID across
cameras and data sets. torch has no mixed IN/BN layer, hence this small one.
"""

from __future__ import annotations

import torch
from torch import nn

IBN_STAGES = ("layer1", "layer2", "layer3")  # IBN-a leaves the last stage plain


class IBN(nn.Module):
    """InstanceNorm (affine) on the first planes // 2 channels, BatchNorm on the rest.

    Submodule names `IN` and `BN` match IBN-Net's release weights, so they load as they are.
    """

    def __init__(self, planes: int) -> None:
        super().__init__()
        self.half = planes // 2
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, second = torch.split(x, [self.half, x.shape[1] - self.half], dim=1)
        return torch.cat((self.IN(first.contiguous()), self.BN(second.contiguous())), dim=1)


def convert_to_ibn_a(stages: dict[str, nn.Sequential]) -> None:
    """Replace bn1 of every block in stages layer1-layer3 with IBN (torchvision BasicBlock and Bottleneck alike)."""
    for name in IBN_STAGES:
        for block in stages[name]:
            block.bn1 = IBN(block.bn1.num_features)
