"""Pooling layers and the BNNeck embedding head."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reidlab.modeling import (
    EmbeddingHead,
    GeneralizedMeanPooling,
    GeneralizedMeanPoolingP,
    GlobalAvgPool,
    build_pooling,
)


def test_global_avg_pool_is_the_spatial_mean() -> None:
    x = torch.randn(2, 5, 4, 3)
    torch.testing.assert_close(GlobalAvgPool()(x), x.mean(dim=(2, 3)))


def test_gem_matches_a_hand_computation() -> None:
    x = torch.tensor([[[[1.0, 2.0], [3.0, -4.0]]]])  # negative values are clamped to eps
    expected = ((1.0 + 8.0 + 27.0 + 1e-18) / 4.0) ** (1.0 / 3.0)
    torch.testing.assert_close(GeneralizedMeanPooling()(x), torch.tensor([[expected]]))


def test_gem_with_p_one_is_average_pooling_of_positive_inputs() -> None:
    x = torch.rand(2, 3, 4, 4) + 0.1
    torch.testing.assert_close(GeneralizedMeanPooling(p=1.0)(x), x.mean(dim=(2, 3)))


def test_learnable_gem_starts_at_three_and_learns_p() -> None:
    pool = GeneralizedMeanPoolingP()
    x = torch.rand(2, 3, 4, 4) + 0.1
    torch.testing.assert_close(pool(x), GeneralizedMeanPooling()(x))
    pool(x).sum().backward()
    assert pool.p.grad is not None and torch.isfinite(pool.p.grad).all()


def test_unknown_pool_layer_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="MODEL.HEADS.POOL_LAYER"):
        build_pooling("MaxPool")


def _head(**kwargs) -> EmbeddingHead:
    torch.manual_seed(0)
    return EmbeddingHead(in_channels=16, num_classes=7, **kwargs)


def test_training_output_and_neck_feat_before() -> None:
    head = _head(with_bnneck=True, neck_feat="before").train()
    feature_map = torch.randn(6, 16, 4, 2)
    out = head(feature_map)
    assert set(out) == {"logits", "features", "pooled"}
    pooled = feature_map.mean(dim=(2, 3))
    torch.testing.assert_close(out["pooled"], pooled)
    torch.testing.assert_close(out["features"], pooled)
    neck = F.batch_norm(pooled, None, None, training=True)  # weight 1, bias 0 at init
    torch.testing.assert_close(out["logits"], neck @ head.classifier.weight.t(), rtol=1e-4, atol=1e-6)
    assert out["logits"].shape == (6, 7)


def test_neck_feat_after_uses_the_batchnorm_feature() -> None:
    head = _head(with_bnneck=True, neck_feat="after").train()
    feature_map = torch.randn(6, 16, 4, 2)
    out = head(feature_map)
    expected = F.batch_norm(feature_map.mean(dim=(2, 3)), None, None, training=True)
    torch.testing.assert_close(out["features"], expected, rtol=1e-4, atol=1e-5)


def test_eval_returns_the_neck_feature_with_running_statistics() -> None:
    head = _head(with_bnneck=True)
    head.train()(torch.randn(8, 16, 4, 2) * 3 + 1)  # move the running statistics away from (0, 1)
    head.eval()
    feature_map = torch.randn(4, 16, 4, 2)
    embedding = head(feature_map)
    pooled = feature_map.mean(dim=(2, 3))
    bn = head.bottleneck
    expected = (pooled - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
    assert isinstance(embedding, torch.Tensor) and embedding.shape == (4, 16)
    torch.testing.assert_close(embedding, expected, rtol=1e-4, atol=1e-5)


def test_without_bnneck_eval_returns_the_pooled_feature() -> None:
    head = _head(with_bnneck=False, neck_feat="after").eval()
    feature_map = torch.randn(4, 16, 4, 2)
    torch.testing.assert_close(head(feature_map), feature_map.mean(dim=(2, 3)))
    head.train()
    torch.testing.assert_close(head(feature_map)["features"], feature_map.mean(dim=(2, 3)))


def test_bnneck_init_and_frozen_bias() -> None:
    head = EmbeddingHead(in_channels=512, num_classes=751, with_bnneck=True)
    bn = head.bottleneck
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    assert bn.weight.requires_grad and not bn.bias.requires_grad
    assert head.classifier.bias is None
    assert abs(head.classifier.weight.std().item() - 0.001) < 1e-4
    assert abs(head.classifier.weight.mean().item()) < 1e-4


def test_gem_head_trains_its_exponent() -> None:
    head = _head(pool_layer="GeneralizedMeanPoolingP", with_bnneck=True).train()
    out = head(torch.rand(4, 16, 4, 2))
    out["logits"].sum().backward()
    assert head.pool.p.grad is not None


def test_bad_neck_feat_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="NECK_FEAT"):
        _head(neck_feat="middle")
