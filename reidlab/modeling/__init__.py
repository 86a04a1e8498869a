"""reidlab.modeling: torchvision ResNet backbones, pooling, the BNNeck head, the Baseline model and the losses."""

from reidlab.modeling.backbone import RESNET_WIDTHS, ResNetBackbone, build_backbone
from reidlab.modeling.baseline import Baseline, build_model, resolve_num_classes
from reidlab.modeling.head import EmbeddingHead, build_head
from reidlab.modeling.losses import (
    STAT_NAMES,
    TripletResult,
    compute_losses,
    cross_entropy_loss,
    pairwise_euclidean_distance,
    triplet_loss,
    triplet_loss_terms,
)
from reidlab.modeling.param_groups import ParamSpec, is_norm_layer, param_groups_spec
from reidlab.modeling.pooling import GeneralizedMeanPooling, GeneralizedMeanPoolingP, GlobalAvgPool, build_pooling
from reidlab.modeling.pretrained import (
    LoadReport,
    PretrainedWeightsError,
    imagenet_weights_url,
    load_pretrained_backbone,
)

__all__ = [
    "Baseline",
    "EmbeddingHead",
    "GeneralizedMeanPooling",
    "GeneralizedMeanPoolingP",
    "GlobalAvgPool",
    "LoadReport",
    "ParamSpec",
    "PretrainedWeightsError",
    "RESNET_WIDTHS",
    "ResNetBackbone",
    "STAT_NAMES",
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
    "pairwise_euclidean_distance",
    "param_groups_spec",
    "resolve_num_classes",
    "triplet_loss",
    "triplet_loss_terms",
]
