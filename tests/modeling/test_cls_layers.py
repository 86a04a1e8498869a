"""Cosine classifier layers (CLS_LAYER): fast-reid's formulas, the head's cosine logits, and the loss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reidlab.config import build_config
from reidlab.modeling import EmbeddingHead, build_model, compute_losses, cross_entropy_loss, margin_logits

COSINE = torch.tensor([[0.5, -0.2, 0.9], [0.1, 0.8, -0.7]])
TARGETS = torch.tensor([0, 1])


def _reference(kind: str, s: float, m: float) -> torch.Tensor:
    """fast-reid's any_softmax written out element by element."""
    out = torch.empty_like(COSINE)
    for i in range(COSINE.shape[0]):
        for j in range(COSINE.shape[1]):
            c, target = float(COSINE[i, j]), j == int(TARGETS[i])
            if kind == "CosSoftmax":
                out[i, j] = s * (c - m if target else c)
            elif kind == "ArcSoftmax":
                out[i, j] = s * (math.cos(math.acos(c) + m) if target else c)
            else:
                out[i, j] = s * (max(1 + m - c, 0) * (c - (1 - m)) if target else max(c + m, 0) * (c - m))
    return out


@pytest.mark.parametrize("kind", ["CosSoftmax", "ArcSoftmax", "CircleSoftmax"])
def test_margin_logits_follow_fastreid(kind: str) -> None:
    torch.testing.assert_close(margin_logits(kind, COSINE, TARGETS, 64.0, 0.35), _reference(kind, 64.0, 0.35))


def test_linear_passes_logits_through() -> None:
    assert margin_logits("Linear", COSINE, TARGETS, 64.0, 0.35) is COSINE


def test_unknown_layer_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="MODEL.HEADS.CLS_LAYER 'AmSoftmax'"):
        margin_logits("AmSoftmax", COSINE, TARGETS, 1.0, 0.0)


def test_circle_weights_are_constants_to_the_gradient() -> None:
    cosine = COSINE.clone().requires_grad_()
    margin_logits("CircleSoftmax", cosine, TARGETS, 2.0, 0.25)[0, 0].backward()
    assert cosine.grad[0, 0].item() == pytest.approx(2.0 * (1 + 0.25 - 0.5))  # s * alpha_p, no d(alpha)/d(cos) term


def test_arcsoftmax_has_finite_gradients_at_cosine_one() -> None:
    cosine = torch.tensor([[1.0, -1.0]], requires_grad=True)
    margin_logits("ArcSoftmax", cosine, torch.tensor([0]), 30.0, 0.5).sum().backward()
    assert torch.isfinite(cosine.grad).all()


def test_cosine_head_outputs_cosines_and_the_same_eval_embedding() -> None:
    torch.manual_seed(0)
    cosine_head = EmbeddingHead(in_channels=16, num_classes=5, cls_layer="CircleSoftmax")
    torch.manual_seed(0)
    linear_head = EmbeddingHead(in_channels=16, num_classes=5)
    feature_map = torch.randn(6, 16, 4, 2)
    out = cosine_head.train()(feature_map)
    neck = linear_head.train()(feature_map)["features"]
    expected = F.normalize(F.batch_norm(neck, None, None, training=True), dim=1) @ F.normalize(cosine_head.classifier.weight, dim=1).t()
    torch.testing.assert_close(out["logits"], expected, rtol=1e-4, atol=1e-5)
    assert out["logits"].abs().max() <= 1.0 + 1e-6
    torch.testing.assert_close(cosine_head.eval()(feature_map), linear_head.eval()(feature_map))


def test_cosine_logits_stay_float32_under_autocast() -> None:
    head = EmbeddingHead(in_channels=8, num_classes=3, cls_layer="CosSoftmax").train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert head(torch.randn(4, 8, 2, 2))["logits"].dtype == torch.float32


def _sbs_head_cfg(**heads):
    return build_config({"MODEL": {
        "BACKBONE": {"DEPTH": "18x", "FEAT_DIM": 512, "PRETRAIN": False},
        "HEADS": {"WITH_BNNECK": True, "CLS_LAYER": "CircleSoftmax", "SCALE": 64, "MARGIN": 0.35, **heads},
        "LOSSES": {"NAME": ["CrossEntropyLoss"], "CE": {"EPSILON": 0.1}},
    }})


def test_compute_losses_applies_margin_and_scale_and_reports_cosine_accuracy() -> None:
    cfg = _sbs_head_cfg()
    cosine = torch.tensor([[0.9, 0.1], [0.2, 0.3], [0.8, -0.1], [0.0, 0.4]])
    targets = torch.tensor([0, 0, 1, 1])
    outputs = {"logits": cosine, "features": torch.randn(4, 8)}
    _, terms, stats = compute_losses(cfg, outputs, targets)
    expected = cross_entropy_loss(margin_logits("CircleSoftmax", cosine, targets, 64.0, 0.35), targets, 0.1)
    torch.testing.assert_close(terms["loss_ce"], expected)
    assert stats["cls_accuracy"].item() == pytest.approx(0.5)  # argmax of the cosines, before the margin


def test_a_model_with_circle_softmax_trains_through_model_images(one_torch_thread) -> None:
    torch.manual_seed(0)
    cfg = _sbs_head_cfg()
    model = build_model(cfg, 4).train()
    images = torch.randint(0, 256, (8, 3, 64, 32), dtype=torch.uint8)
    targets = torch.arange(4).repeat(2)
    total, _, _ = compute_losses(cfg, model(images), targets)
    total.backward()
    assert torch.isfinite(total) and model.head.classifier.weight.grad.abs().sum() > 0
    assert model.eval()(images).shape == (8, 512)


def test_scale_or_margin_with_linear_warns_that_they_do_nothing() -> None:
    cfg = build_config({"MODEL": {"BACKBONE": {"DEPTH": "18x", "FEAT_DIM": 512, "PRETRAIN": False}, "HEADS": {"SCALE": 30}}})
    with pytest.warns(UserWarning, match="MODEL.HEADS.SCALE 30 / MARGIN 0 have no effect with CLS_LAYER Linear"):
        build_model(cfg, 3)
