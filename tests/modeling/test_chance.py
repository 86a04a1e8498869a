"""Chance-level cross-entropy: ln(C) for Linear, the margin-adjusted CE at cosine 0 for the cosine layers, from the loss itself."""

from __future__ import annotations

import math

import pytest
import torch

from reidlab.config import build_config
from reidlab.modeling import EmbeddingHead, compute_losses
from reidlab.modeling.chance import ChanceLevel, chance_cross_entropy

COSINE_LAYERS = ["ArcSoftmax", "CircleSoftmax", "CosSoftmax"]


def _cfg(cls_layer: str, scale: float, margin: float, epsilon: float):
    return build_config({
        "MODEL": {
            "HEADS": {"CLS_LAYER": cls_layer, "SCALE": scale, "MARGIN": margin},
            "LOSSES": {"NAME": ["CrossEntropyLoss"], "CE": {"EPSILON": epsilon, "SCALE": 1.0}},
        }
    })


@pytest.mark.parametrize("classes", [2, 8, 751])
@pytest.mark.parametrize("epsilon", [0.0, 0.1])
def test_linear_chance_is_ln_classes_with_or_without_label_smoothing(classes, epsilon):
    assert chance_cross_entropy("Linear", classes, epsilon=epsilon) == pytest.approx(math.log(classes), rel=1e-6)
    assert ChanceLevel("Linear", classes, 64.0, 0.35, epsilon).describe() == f"ln({classes}) = {math.log(classes):.3f}"


@pytest.mark.parametrize("cls_layer", COSINE_LAYERS)
@pytest.mark.parametrize("epsilon", [0.0, 0.1])
def test_cosine_chance_is_the_loss_of_a_head_whose_class_weights_are_orthogonal_to_the_features(cls_layer, epsilon):
    """The real head and compute_losses, with every cosine exactly 0: neck features and class weights share no channel."""
    torch.manual_seed(0)
    classes, channels, used = 6, 16, 8
    head = EmbeddingHead(in_channels=channels, num_classes=classes, neck_feat="after", cls_layer=cls_layer).train()
    feature_map = torch.randn(12, channels, 4, 2)
    feature_map[:, used:] = 1.0  # the same in every image: BatchNorm makes these neck channels exactly 0
    with torch.no_grad():
        head.classifier.weight[:, :used] = 0.0
    targets = torch.arange(12) % classes
    cfg = _cfg(cls_layer, 64.0, 0.35, epsilon)
    outputs = head(feature_map)
    assert outputs["logits"].abs().max() < 1e-6
    _, terms, _ = compute_losses(cfg, outputs, targets)
    assert terms["loss_ce"].item() == pytest.approx(chance_cross_entropy(cls_layer, classes, 64.0, 0.35, epsilon), rel=1e-5)
    assert ChanceLevel.of(cfg, classes).value == pytest.approx(terms["loss_ce"].item(), rel=1e-5)


def test_circle_softmax_chance_of_sbs_is_about_48_plus_ln_classes_not_ln_classes():
    s, m, classes = 64.0, 0.35, 751
    target, other = -s * (1 + m) * (1 - m), -s * m * m  # the logits at cosine 0
    expected = -target + math.log(math.exp(target) + (classes - 1) * math.exp(other))
    value = chance_cross_entropy("CircleSoftmax", classes, s, m)
    assert value == pytest.approx(expected, rel=1e-5)
    assert value > math.log(classes) + 40
    smoothed = chance_cross_entropy("CircleSoftmax", classes, s, m, 0.1)
    assert math.log(classes) + 40 < smoothed < value  # smoothing moves it: the other classes' logits are not the target's


def test_chance_level_reads_the_config_and_says_where_its_value_comes_from():
    chance = ChanceLevel.of(_cfg("CircleSoftmax", 64.0, 0.35, 0.1), 751)
    assert (chance.cls_layer, chance.num_classes, chance.scale, chance.margin, chance.epsilon) == ("CircleSoftmax", 751, 64.0, 0.35, 0.1)
    assert chance.is_cosine and chance.basis == "CircleSoftmax CE at cosine 0 (SCALE 64, MARGIN 0.35, CE.EPSILON 0.1, 751 classes)"
    text = chance.describe()
    assert text.startswith(f"{chance.value:.3f}, the CircleSoftmax CE at cosine 0") and "not ln(751) = 6.621" in text


def test_fastreids_adaptive_smoothing_counts_as_none_and_no_classes_is_an_error():
    assert chance_cross_entropy("CosSoftmax", 10, 30.0, 0.25, -1.0) == chance_cross_entropy("CosSoftmax", 10, 30.0, 0.25, 0.0)
    with pytest.raises(ValueError, match="at least one class"):
        chance_cross_entropy("Linear", 0)
