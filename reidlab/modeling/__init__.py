"""reidlab.modeling: backbones (torchvision ResNet with IBN-a / non-local blocks, timm), pooling,
the BNNeck head and its classifier layers, the Baseline model, the losses and layer freezing."""

from reidlab.modeling.backbone import NL_LAYERS, RESNET_WIDTHS, ResNetBackbone, build_backbone
from reidlab.modeling.baseline import Baseline, build_model, resolve_num_classes
from reidlab.modeling.cls_layers import COSINE_LAYERS, margin_logits
from reidlab.modeling.freeze import FrozenLayers
from reidlab.modeling.head import EmbeddingHead, build_head
from reidlab.modeling.ibn import IBN
from reidlab.modeling.losses import (
    STAT_NAMES,
    TripletResult,
    compute_losses,
    cross_entropy_loss,
    pairwise_euclidean_distance,
    triplet_loss,
    triplet_loss_terms,
)
from reidlab.modeling.non_local import NonLocalBlock
from reidlab.modeling.param_groups import ParamSpec, is_norm_layer, param_groups_spec
from reidlab.modeling.pooling import GeneralizedMeanPooling, GeneralizedMeanPoolingP, GlobalAvgPool, build_pooling
from reidlab.modeling.pretrained import (
    LoadReport,
    PretrainedWeightsError,
    imagenet_weights_url,
    load_pretrained_backbone,
)
from reidlab.modeling.timm_backbone import RESNEST_MODELS, TimmBackbone

__all__ = [
    "Baseline",
    "COSINE_LAYERS",
    "EmbeddingHead",
    "FrozenLayers",
    "GeneralizedMeanPooling",
    "GeneralizedMeanPoolingP",
    "GlobalAvgPool",
    "IBN",
    "LoadReport",
    "NL_LAYERS",
    "NonLocalBlock",
    "ParamSpec",
    "PretrainedWeightsError",
    "RESNEST_MODELS",
    "RESNET_WIDTHS",
    "ResNetBackbone",
    "STAT_NAMES",
    "TimmBackbone",
    "TripletResult",
    "build_backbone",
    "build_head",
    "build_model",
    "build_pooling",
    "compute_losses",
    "cross_entropy_loss",
    "imagenet_weights_url",
    "is_norm_layer",
    "load_pretrained_backbone",
    "margin_logits",
    "pairwise_euclidean_distance",
    "param_groups_spec",
    "resolve_num_classes",
    "triplet_loss",
    "triplet_loss_terms",
]
