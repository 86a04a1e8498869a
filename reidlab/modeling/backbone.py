"""torchvision ResNet trunk (no pooling, no classifier) with the ReID last-stride trick."""

from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn
from torchvision import models

from reidlab.config import Config
from reidlab.modeling.pretrained import LoadReport, load_pretrained_backbone

RESNET_BUILDERS: dict[str, Callable[..., models.ResNet]] = {
    "18x": models.resnet18,
    "34x": models.resnet34,
    "50x": models.resnet50,
    "101x": models.resnet101,
}
RESNET_WIDTHS: dict[str, int] = {"18x": 512, "34x": 512, "50x": 2048, "101x": 2048}


def set_stage_stride(stage: nn.Sequential, stride: int) -> None:
    """Give a ResNet stage's first block (its strided conv and its downsample) the stride `stride`.

    Works for both block types: BasicBlock strides conv1, torchvision's Bottleneck strides conv2.
    """
    first_block = stage[0]
    for conv in first_block.modules():
        if isinstance(conv, nn.Conv2d) and conv.stride != (1, 1):
            conv.stride = (stride, stride)


class ResNetBackbone(nn.Module):
    """A torchvision ResNet up to layer4; returns the layer4 feature map (B, out_channels, H/16 or H/32, ...).

    Submodule names equal torchvision's, so a torchvision state dict loads as is.
    """

    def __init__(self, depth: str = "50x", last_stride: int = 1) -> None:
        super().__init__()
        if depth not in RESNET_BUILDERS:
            raise ValueError(f"MODEL.BACKBONE.DEPTH {depth!r} is not one of {sorted(RESNET_BUILDERS)}")
        resnet = RESNET_BUILDERS[depth](weights=None)
        self.depth = depth
        self.out_channels = RESNET_WIDTHS[depth]
        self.conv1, self.bn1, self.relu, self.maxpool = resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4
        set_stage_stride(self.layer4, last_stride)
        self.pretrained_source = "none (random init)"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def load_imagenet_weights(self, pretrain_path: str = "") -> LoadReport:
        """Load ImageNet weights from `pretrain_path`, or torchvision's (downloaded to torch hub's cache)."""
        report = load_pretrained_backbone(self, self.depth, pretrain_path)
        self.pretrained_source = report.source
        return report


def build_backbone(cfg: Config) -> ResNetBackbone:
    """The backbone that cfg.MODEL.BACKBONE describes, with its pretrained weights loaded."""
    bcfg = cfg.MODEL.BACKBONE
    backbone = ResNetBackbone(bcfg.DEPTH, bcfg.LAST_STRIDE)
    if bcfg.FEAT_DIM != backbone.out_channels:
        warnings.warn(
            f"MODEL.BACKBONE.FEAT_DIM is {bcfg.FEAT_DIM} but a ResNet-{bcfg.DEPTH.rstrip('x')} outputs "
            f"{backbone.out_channels} channels; using {backbone.out_channels} (FEAT_DIM is derived from DEPTH)",
            stacklevel=2,
        )
    if bcfg.PRETRAIN:
        backbone.load_imagenet_weights(bcfg.PRETRAIN_PATH)
    return backbone
