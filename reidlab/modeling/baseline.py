"""The ReID model: pixel normalisation + backbone + BNNeck head, built from a config."""

from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch import nn

from reidlab.config import Config
from reidlab.modeling.backbone import build_backbone
from reidlab.modeling.head import EmbeddingHead, build_head


class Baseline(nn.Module):
    """Images (B, 3, H, W), RGB on the 0-255 scale (uint8 or float) -> head output.

    The normalisation lives inside the model (PIXEL_MEAN / PIXEL_STD buffers), so an
    exported or deployed model carries its own preprocessing.
    Training: the head's dict (`logits`, `features`, `pooled`); eval: the (B, D) embedding.
    The backbone is any module with `out_channels` that returns a (B, out_channels, h, w) map.
    """

    def __init__(
        self,
        backbone: nn.Module,
        head: EmbeddingHead,
        pixel_mean: Sequence[float],
        pixel_std: Sequence[float],
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("pixel_std", torch.tensor(pixel_std, dtype=torch.float32).view(1, -1, 1, 1))

    @property
    def embedding_dim(self) -> int:
        """Width of the eval-mode embedding."""
        return self.backbone.out_channels

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(images - PIXEL_MEAN) / PIXEL_STD, in the model's floating dtype."""
        x = images.to(self.pixel_mean.dtype)
        return (x - self.pixel_mean) / self.pixel_std

    def forward(self, images: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        return self.head(self.backbone(self.normalize(images)))

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        """All backbone parameters (for per-part update sizes and learning rates)."""
        return self.backbone.parameters()

    def head_parameters(self) -> Iterator[nn.Parameter]:
        """All head parameters: pooling (learnable GeM p), BNNeck and classifier."""
        return self.head.parameters()


def resolve_num_classes(cfg: Config, num_training_ids: int) -> int:
    """MODEL.HEADS.NUM_CLASSES, or the number of training identities when it is 0."""
    configured = cfg.MODEL.HEADS.NUM_CLASSES
    if configured == 0:
        if num_training_ids < 1:
            raise ValueError("MODEL.HEADS.NUM_CLASSES is 0 and no number of training identities was given")
        return num_training_ids
    if num_training_ids > configured:
        raise ValueError(
            f"MODEL.HEADS.NUM_CLASSES is {configured} but the training set has {num_training_ids} identities; "
            "set it to 0 (use the number of identities) or at least that number"
        )
    return configured


def build_model(cfg: Config, num_classes: int = 0) -> Baseline:
    """The Baseline that cfg.MODEL describes; `num_classes` is the number of training identities."""
    backbone = build_backbone(cfg)
    head = build_head(cfg, backbone.out_channels, resolve_num_classes(cfg, num_classes))
    return Baseline(backbone, head, cfg.MODEL.PIXEL_MEAN, cfg.MODEL.PIXEL_STD)
