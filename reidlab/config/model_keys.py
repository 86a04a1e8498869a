"""The MODEL section: backbone, heads, losses, and whether the backbone keys fit together."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reidlab.config.fields import Section, key, ours, unsupported

IMAGENET_MEAN_255 = [0.485 * 255, 0.456 * 255, 0.406 * 255]
IMAGENET_STD_255 = [0.229 * 255, 0.224 * 255, 0.225 * 255]


class BackboneCfg(Section):
    NAME: Literal["build_resnet_backbone", "build_resnest_backbone", "build_timm_backbone"] = key(
        "build_resnet_backbone",
        "Backbone builder: torchvision ResNet, ResNeSt (needs timm) or any timm CNN named by TIMM_MODEL (needs timm).",
    )
    DEPTH: Literal["18x", "34x", "50x", "101x", "200x", "269x"] = key(
        "50x", "Depth: 18x/34x/50x/101x for ResNet, 50x/101x/200x/269x for ResNeSt; unused by build_timm_backbone."
    )
    LAST_STRIDE: Literal[1, 2] = key(1, "Stride of the last stage; 1 doubles the final feature map (the ReID default; timm backbones dilate instead).")
    NORM: Literal["BN", "syncBN"] = key("BN", "Backbone normalisation: BN, or syncBN (statistics over the whole batch of all torchrun processes; CUDA only).")
    FEAT_DIM: int = key(2048, "Backbone output width; derived from the backbone (512 for ResNet 18x/34x, 2048 for the others); a differing value you set is a warning.", gt=0)
    WITH_IBN: bool = key(False, "IBN-a ResNet: InstanceNorm on half the channels of each block's bn1 in stages 1-3 (IBN-Net); PRETRAIN then loads IBN-Net's release weights.")
    WITH_SE: bool = unsupported(False, "Squeeze-and-excitation blocks.")
    WITH_NL: bool = key(False, "Non-local blocks after the last blocks of stages 2 and 3 (fast-reid's layout: 2+3 for 50x, 2+9 for 101x; reidlab adds 2+3 for 34x and 1+1 for 18x, where fast-reid adds none).")
    PRETRAIN: bool = key(True, "Start from ImageNet weights (torchvision's, IBN-Net's with WITH_IBN, timm's for timm backbones; downloaded once), or PRETRAIN_PATH.")
    PRETRAIN_PATH: str = key("", "Local file with ImageNet weights for the backbone (a state dict with the keys of the downloaded file).")
    TIMM_MODEL: str = ours("", "The timm model for NAME build_timm_backbone, e.g. resnest50d or convnext_tiny (a CNN: its features must be a 2-D map).")


# The depths each ResNet-family builder has (build_timm_backbone takes TIMM_MODEL instead).
BACKBONE_DEPTHS: dict[str, tuple[str, ...]] = {
    "build_resnet_backbone": ("18x", "34x", "50x", "101x"),
    "build_resnest_backbone": ("50x", "101x", "200x", "269x"),
}


def backbone_problem(backbone: BackboneCfg) -> tuple[str, str] | None:
    """(key, what is wrong with its value) when the MODEL.BACKBONE keys do not fit together, else None."""
    depths = BACKBONE_DEPTHS.get(backbone.NAME)
    if depths and backbone.DEPTH not in depths:
        return "MODEL.BACKBONE.DEPTH", f"{backbone.DEPTH} is not a depth of {backbone.NAME}; choose one of {', '.join(depths)}"
    if backbone.NAME != "build_resnet_backbone":
        for flag in ("WITH_IBN", "WITH_NL"):
            if getattr(backbone, flag):
                return f"MODEL.BACKBONE.{flag}", f"True needs NAME build_resnet_backbone; {backbone.NAME} has no such blocks"
    if backbone.NAME == "build_timm_backbone" and not backbone.TIMM_MODEL:
        return "MODEL.BACKBONE.TIMM_MODEL", "is empty; NAME build_timm_backbone needs a timm model name, e.g. resnest50d"
    return None


class HeadsCfg(Section):
    NAME: Literal["EmbeddingHead"] = key("EmbeddingHead", "Head type.")
    NORM: Literal["BN", "syncBN"] = key("BN", "Head normalisation (the BNNeck): BN, or syncBN (as MODEL.BACKBONE.NORM).")
    NUM_CLASSES: int = key(0, "Classifier outputs; 0 means the number of training identities.", ge=0)
    EMBEDDING_DIM: int = unsupported(0, "Extra embedding layer width (0 = none).")
    WITH_BNNECK: bool = key(False, "BNNeck: a BatchNorm between the pooled feature and the classifier.")
    NECK_FEAT: Literal["before", "after"] = key("before", "Triplet feature in training: before or after the BNNeck (retrieval always uses the BNNeck output, as fast-reid).")
    POOL_LAYER: Literal["GlobalAvgPool", "GeneralizedMeanPooling", "GeneralizedMeanPoolingP"] = key(
        "GlobalAvgPool", "Pooling: global average or GeM (fixed p=3, or learnable with the P suffix)."
    )
    CLS_LAYER: Literal["Linear", "ArcSoftmax", "CircleSoftmax", "CosSoftmax"] = key(
        "Linear", "Classifier: Linear, or on cosine logits ArcSoftmax (ArcFace), CircleSoftmax (Circle loss) or CosSoftmax (CosFace)."
    )
    SCALE: float = key(1.0, "Logit scale s of the cosine classifiers (fast-reid's SBS uses 64); Linear ignores it.", gt=0.0)
    MARGIN: float = key(0.0, "Margin m of the cosine classifiers (fast-reid's SBS uses 0.35 with CircleSoftmax); Linear ignores it.", ge=0.0)


class CECfg(Section):
    EPSILON: float = key(0.0, "Label smoothing for cross-entropy.", ge=0.0, lt=1.0)
    ALPHA: float = unsupported(0.2, "Adaptive label smoothing (fast-reid's EPSILON < 0 mode).")
    SCALE: float = key(1.0, "Weight of the cross-entropy term in the total loss.", ge=0.0)


class TriCfg(Section):
    MARGIN: float = key(0.3, "Triplet margin; 0 means soft margin, softplus(d_ap - d_an), as fast-reid.", ge=0.0)
    HARD_MINING: bool = key(False, "Batch-hard mining; otherwise softmax-weighted mining over all positives and negatives (fast-reid's weighted triplet).")
    NORM_FEAT: bool = key(False, "Cosine distance (1 - cos of L2-normalised features) instead of euclidean for the triplet.")
    SCALE: float = key(1.0, "Weight of the triplet term in the total loss.", ge=0.0)


class LossesCfg(Section):
    NAME: list[Literal["CrossEntropyLoss", "TripletLoss"]] = key(
        ["CrossEntropyLoss"], "Loss terms to use (CrossEntropyLoss, TripletLoss).", min_length=1
    )
    CE: CECfg = Field(default_factory=CECfg)
    TRI: TriCfg = Field(default_factory=TriCfg)


class ModelCfg(Section):
    META_ARCHITECTURE: Literal["Baseline"] = key("Baseline", "Model type.")
    FREEZE_LAYERS: list[Literal["backbone", "heads", "head"]] = key(
        [], "Parts frozen for the first SOLVER.FREEZE_ITERS iterations: backbone and/or heads (fast-reid's name; head also accepted)."
    )
    BACKBONE: BackboneCfg = Field(default_factory=BackboneCfg)
    HEADS: HeadsCfg = Field(default_factory=HeadsCfg)
    LOSSES: LossesCfg = Field(default_factory=LossesCfg)
    WEIGHTS: str = key("", "Weights to start from (a reidlab .pth); empty for none.")
    DEVICE: str = key("auto", "Device: auto (cuda when available, else cpu), cpu, cuda or cuda:N.", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    PIXEL_MEAN: list[float] = key(IMAGENET_MEAN_255, "Per-channel mean on the 0-255 scale.", min_length=3, max_length=3)
    PIXEL_STD: list[float] = key(IMAGENET_STD_255, "Per-channel std on the 0-255 scale.", min_length=3, max_length=3)
