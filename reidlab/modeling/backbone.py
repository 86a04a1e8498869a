"""Backbones: the torchvision ResNet trunk (no pooling, no classifier) with the ReID last-stride trick,
optional IBN-a and non-local blocks; ResNeSt and other timm CNNs through timm_backbone."""

from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn
from torchvision import models

from reidlab.config import Config, ConfigError
from reidlab.config.model_keys import backbone_problem
from reidlab.modeling.ibn import IBN_STAGES, convert_to_ibn_a
from reidlab.modeling.non_local import NonLocalBlock
from reidlab.modeling.pretrained import LoadReport, load_pretrained_backbone
from reidlab.modeling.timm_backbone import build_timm_backbone

RESNET_BUILDERS: dict[str, Callable[..., models.ResNet]] = {
    "18x": models.resnet18,
    "34x": models.resnet34,
    "50x": models.resnet50,
    "101x": models.resnet101,
}
RESNET_WIDTHS: dict[str, int] = {"18x": 512, "34x": 512, "50x": 2048, "101x": 2048}
STAGES = ("layer1", "layer2", "layer3", "layer4")
STAGE_PLANES = (64, 128, 256, 512)
# Non-local blocks per stage, each after one of the stage's last blocks: fast-reid's NL_LAYERS for
# 50x and 101x. fast-reid puts none in 18x/34x (WITH_NL silently does nothing there); reidlab
# places them as in 50x, in the last half of stages 2 and 3 (34x has 50x's block counts).
NL_LAYERS: dict[str, tuple[int, int, int, int]] = {"18x": (0, 1, 1, 0), "34x": (0, 2, 3, 0), "50x": (0, 2, 3, 0), "101x": (0, 2, 9, 0)}


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

    Submodule names equal torchvision's (IBN-Net's with IBN-a), so their state dicts load as they
    are; non-local blocks live apart in `non_local`, keyed "<stage>_<block index>" of the block they follow.
    """

    def __init__(self, depth: str = "50x", last_stride: int = 1, with_ibn: bool = False, with_nl: bool = False) -> None:
        super().__init__()
        if depth not in RESNET_BUILDERS:
            raise ValueError(f"MODEL.BACKBONE.DEPTH {depth!r} is not one of {sorted(RESNET_BUILDERS)}")
        resnet = RESNET_BUILDERS[depth](weights=None)
        self.depth, self.with_ibn = depth, with_ibn
        self.out_channels = RESNET_WIDTHS[depth]
        self.conv1, self.bn1, self.relu, self.maxpool = resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4
        set_stage_stride(self.layer4, last_stride)
        if with_ibn:
            convert_to_ibn_a({name: getattr(self, name) for name in IBN_STAGES})
        self.non_local = nn.ModuleDict(self._non_local_blocks(depth) if with_nl else {})
        self.pretrained_source = "none (random init)"

    def _non_local_blocks(self, depth: str) -> dict[str, NonLocalBlock]:
        blocks: dict[str, NonLocalBlock] = {}
        for name, planes, count in zip(STAGES, STAGE_PLANES, NL_LAYERS[depth]):
            stage = getattr(self, name)
            channels = planes * type(stage[0]).expansion
            for index in range(len(stage) - count, len(stage)):
                blocks[f"{name}_{index}"] = NonLocalBlock(channels)
        return blocks

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        if len(self.non_local) == 0:
            return self.layer4(self.layer3(self.layer2(self.layer1(x))))
        for name in STAGES:
            for index, block in enumerate(getattr(self, name)):
                x = block(x)
                key = f"{name}_{index}"
                if key in self.non_local:
                    x = self.non_local[key](x)
        return x

    def load_imagenet_weights(self, pretrain_path: str = "") -> LoadReport:
        """Load ImageNet weights from `pretrain_path`, or download torchvision's (IBN-Net's for IBN-a) to torch hub's cache."""
        report = load_pretrained_backbone(self, self.depth, pretrain_path, self.with_ibn)
        self.pretrained_source = report.source
        return report


def build_backbone(cfg: Config) -> nn.Module:
    """The backbone that cfg.MODEL.BACKBONE describes, with its pretrained weights loaded.

    Every backbone has `out_channels` and maps images (B, 3, H, W) to a feature map (B, out_channels, h, w).
    """
    bcfg = cfg.MODEL.BACKBONE
    problem = backbone_problem(bcfg)
    if problem:
        raise ConfigError(" ".join(problem))
    if bcfg.NAME != "build_resnet_backbone":
        backbone: nn.Module = build_timm_backbone(cfg)
    else:
        backbone = ResNetBackbone(bcfg.DEPTH, bcfg.LAST_STRIDE, bcfg.WITH_IBN, bcfg.WITH_NL)
        if bcfg.PRETRAIN:
            backbone.load_imagenet_weights(bcfg.PRETRAIN_PATH)
    if bcfg.FEAT_DIM != backbone.out_channels and "MODEL.BACKBONE.FEAT_DIM" in cfg._set_keys:  # derived unless the user chose a width
        warnings.warn(
            f"MODEL.BACKBONE.FEAT_DIM is {bcfg.FEAT_DIM} but the backbone outputs {backbone.out_channels} channels; "
            f"using {backbone.out_channels} (FEAT_DIM is derived from the backbone)",
            stacklevel=2,
        )
    return backbone
