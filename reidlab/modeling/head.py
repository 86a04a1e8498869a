"""BNNeck embedding head (fast-reid's EmbeddingHead): pool -> BatchNorm neck -> bias-free classifier."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from reidlab.config import Config
from reidlab.modeling.cls_layers import is_cosine_layer
from reidlab.modeling.pooling import build_pooling


class EmbeddingHead(nn.Module):
    """Turns a backbone feature map into logits and features (training) or an embedding (eval).

    Training returns a dict:
      - ``logits``: (B, num_classes) classifier outputs of the neck feature: plain (Linear) or the
        cosine similarities to the class weights (cosine CLS_LAYERs; the loss adds margin and scale);
      - ``features``: the triplet feature, the pooled feature (neck_feat "before") or the neck feature ("after");
      - ``pooled``: the pooled feature, before the neck.
    Eval returns the retrieval embedding (B, in_channels): the neck feature when with_bnneck
    (as fast-reid does at test time), else the pooled feature.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        pool_layer: str = "GlobalAvgPool",
        with_bnneck: bool = True,
        neck_feat: str = "before",
        cls_layer: str = "Linear",
    ) -> None:
        super().__init__()
        if neck_feat not in ("before", "after"):
            raise ValueError(f"MODEL.HEADS.NECK_FEAT must be 'before' or 'after', got {neck_feat!r}")
        is_cosine_layer(cls_layer)  # an unknown name fails here, at build time
        if num_classes < 1:
            raise ValueError(f"the classifier needs at least one class, got num_classes={num_classes}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.neck_feat = neck_feat
        self.cls_layer = cls_layer
        self.pool = build_pooling(pool_layer)
        self.bottleneck: nn.Module = nn.BatchNorm1d(in_channels) if with_bnneck else nn.Identity()
        self.classifier = nn.Linear(in_channels, num_classes, bias=False)
        self.reset_parameters()

    @property
    def with_bnneck(self) -> bool:
        return isinstance(self.bottleneck, nn.BatchNorm1d)

    def reset_parameters(self) -> None:
        """BoT init: neck weight 1 and bias 0 (bias frozen: a shift before the classifier is useless), classifier N(0, 0.001).

        Cosine classifiers get fast-reid's N(0, 0.01): only their direction counts, and with
        Adam a tiny weight would turn by a large angle at every step.
        """
        if isinstance(self.bottleneck, nn.BatchNorm1d):
            nn.init.ones_(self.bottleneck.weight)
            nn.init.zeros_(self.bottleneck.bias)
            self.bottleneck.bias.requires_grad_(False)
        nn.init.normal_(self.classifier.weight, std=0.01 if is_cosine_layer(self.cls_layer) else 0.001)

    def class_logits(self, neck: torch.Tensor) -> torch.Tensor:
        """Linear: neck @ W.T; cosine layers: cos(neck, W) per class, in float32 (SCALE later multiplies any rounding error)."""
        if not is_cosine_layer(self.cls_layer):
            return self.classifier(neck)
        with torch.autocast(device_type=neck.device.type, enabled=False):
            return F.linear(F.normalize(neck.float(), dim=1), F.normalize(self.classifier.weight.float(), dim=1))

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        # Same dtype as the parameters: float32 under autocast, half for a model.half() export.
        pooled = self.pool(feature_map).to(self.classifier.weight.dtype)
        neck = self.bottleneck(pooled)
        if not self.training:
            return neck
        return {
            "logits": self.class_logits(neck),
            "features": pooled if self.neck_feat == "before" else neck,
            "pooled": pooled,
        }


def build_head(cfg: Config, in_channels: int, num_classes: int) -> EmbeddingHead:
    """The head that cfg.MODEL.HEADS describes, on a backbone of width `in_channels`."""
    hcfg = cfg.MODEL.HEADS
    if hcfg.CLS_LAYER == "Linear" and (hcfg.SCALE != 1.0 or hcfg.MARGIN != 0.0):
        warnings.warn(
            f"MODEL.HEADS.SCALE {hcfg.SCALE:g} / MARGIN {hcfg.MARGIN:g} have no effect with CLS_LAYER Linear (as in fast-reid); "
            "choose CircleSoftmax, CosSoftmax or ArcSoftmax to use them",
            stacklevel=2,
        )
    return EmbeddingHead(
        in_channels=in_channels,
        num_classes=num_classes,
        pool_layer=hcfg.POOL_LAYER,
        with_bnneck=hcfg.WITH_BNNECK,
        neck_feat=hcfg.NECK_FEAT,
        cls_layer=hcfg.CLS_LAYER,
    )
