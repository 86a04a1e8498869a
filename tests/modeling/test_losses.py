"""Losses against hand computations and brute-force loops; SCALE weighting; health stats."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reidlab.config import build_config
from reidlab.modeling import (
    STAT_NAMES,
    build_model,
    compute_losses,
    cross_entropy_loss,
    pairwise_euclidean_distance,
    triplet_loss,
    triplet_loss_terms,
)


def _cfg(names=("CrossEntropyLoss", "TripletLoss"), ce=None, tri=None, **model):
    return build_config({"MODEL": {"LOSSES": {"NAME": list(names), "CE": ce or {}, "TRI": tri or {}}, **model}})


def _batch(p: int = 4, k: int = 4, dim: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(p * k, dim, generator=generator)
    targets = torch.arange(p).repeat_interleave(k)
    return features, targets[torch.randperm(p * k, generator=generator)]


# ---------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3])
def test_label_smoothed_ce_matches_an_explicit_target_matrix(epsilon: float) -> None:
    logits = torch.randn(5, 6)
    targets = torch.tensor([0, 3, 5, 3, 1])
    smoothed = torch.full((5, 6), epsilon / 5)
    smoothed[torch.arange(5), targets] = 1 - epsilon
    expected = -(smoothed * logits.log_softmax(dim=1)).sum(dim=1).mean()
    torch.testing.assert_close(cross_entropy_loss(logits, targets, epsilon), expected)


@pytest.mark.parametrize("epsilon", [0.0, 0.1])
def test_label_smoothed_ce_matches_torch_with_converted_smoothing(epsilon: float) -> None:
    logits, num_classes = torch.randn(16, 10), 10
    targets = torch.randint(0, num_classes, (16,))
    torch_smoothing = epsilon * num_classes / (num_classes - 1)
    expected = F.cross_entropy(logits, targets, label_smoothing=torch_smoothing)
    torch.testing.assert_close(cross_entropy_loss(logits, targets, epsilon), expected)


# ---------------------------------------------------------------- triplet
def _brute_force_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    return math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b)))


def _brute_force_triplet(features, targets, margin, hard_mining, distance=None) -> float:
    n = len(features)
    distance = distance or _brute_force_distance
    d = [[distance(features[i], features[j]) for j in range(n)] for i in range(n)]
    losses = []
    for i in range(n):
        positives = [j for j in range(n) if targets[j] == targets[i]]  # the anchor itself included
        negatives = [j for j in range(n) if targets[j] != targets[i]]
        if hard_mining:
            d_ap = max(d[i][j] for j in positives)
            d_an = min(d[i][j] for j in negatives)
        else:
            w_p = [math.exp(d[i][j]) for j in positives]
            w_n = [math.exp(-d[i][j]) for j in negatives]
            d_ap = sum(w * d[i][j] for w, j in zip(w_p, positives)) / sum(w_p)
            d_an = sum(w * d[i][j] for w, j in zip(w_n, negatives)) / sum(w_n)
        gap = d_ap - d_an + margin
        losses.append(math.log1p(math.exp(gap)) if margin == 0 else max(0.0, gap))  # margin 0: fast-reid's soft margin
    return sum(losses) / n


@pytest.mark.parametrize("hard_mining", [True, False])
@pytest.mark.parametrize("margin", [0.0, 0.3, 5.0])
def test_triplet_matches_a_brute_force_loop(hard_mining: bool, margin: float) -> None:
    features, targets = _batch()
    got = triplet_loss(features, targets, margin, hard_mining=hard_mining)
    expected = _brute_force_triplet(features, targets, margin, hard_mining)
    assert got.item() == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_norm_feat_uses_cosine_distance_like_fastreid() -> None:
    features, targets = _batch()
    got = triplet_loss(features * 7.0, targets, 0.3, hard_mining=True, norm_feat=True)

    def cosine_distance(a, b) -> float:
        return 1.0 - float(torch.dot(a, b) / (a.norm() * b.norm()))

    expected = _brute_force_triplet(features, targets, 0.3, True, cosine_distance)
    assert got.item() == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_distance_is_exact_on_the_diagonal_and_gradients_stay_finite() -> None:
    features = torch.ones(4, 3, requires_grad=True)  # all distances zero: sqrt at the clamp
    distance = pairwise_euclidean_distance(features)
    assert torch.all(distance.diagonal() == 0)
    loss = triplet_loss(features, torch.tensor([0, 0, 1, 1]), 0.3)
    loss.backward()
    assert loss.item() == pytest.approx(0.3, abs=1e-5)
    assert torch.isfinite(features.grad).all()


def test_soft_margin_stays_finite_where_exp_overflows() -> None:
    features = torch.tensor([[0.0], [500.0], [1.0], [501.0]], requires_grad=True)  # d_ap - d_an about 499
    loss = triplet_loss(features, torch.tensor([0, 0, 1, 1]), 0.0)
    loss.backward()
    assert loss.item() == pytest.approx(499.0, rel=1e-3)
    assert torch.isfinite(features.grad).all()


def test_active_fraction_counts_violated_rankings_under_a_soft_margin() -> None:
    features = torch.tensor([[0.0], [0.1], [5.0], [5.2], [0.2], [5.1]])
    targets = torch.tensor([0, 0, 1, 1, 2, 2])  # id 2 sits next to ids 0 and 1: its anchors and theirs are violated
    result = triplet_loss_terms(features, targets, 0.0)
    assert (result.hinge > 0).all()  # softplus is never 0 ...
    gap = result.dist_ap - result.dist_an
    assert torch.equal(result.active, gap > 0)  # ... so "active" means d_ap > d_an
    assert 0 < int(result.active.sum()) < 6


@pytest.mark.parametrize("hard_mining", [True, False])
def test_batch_without_negatives_gives_zero_loss_and_finite_gradients(hard_mining: bool) -> None:
    features = torch.randn(4, 3, requires_grad=True)
    loss = triplet_loss(features, torch.zeros(4, dtype=torch.long), 0.3, hard_mining=hard_mining)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(features.grad).all()


# ---------------------------------------------------------------- compute_losses
def test_scale_weights_each_term_and_total_is_their_sum() -> None:
    features, targets = _batch()
    outputs = {"logits": torch.randn(16, 4), "features": features}
    _, plain, _ = compute_losses(_cfg(), outputs, targets)
    total, scaled, _ = compute_losses(_cfg(ce={"SCALE": 2.0}, tri={"SCALE": 0.5}), outputs, targets)
    torch.testing.assert_close(scaled["loss_ce"], 2.0 * plain["loss_ce"])
    torch.testing.assert_close(scaled["loss_triplet"], 0.5 * plain["loss_triplet"])
    torch.testing.assert_close(total, scaled["loss_ce"] + scaled["loss_triplet"])


def test_only_the_named_losses_are_terms_but_every_stat_is_there() -> None:
    features, targets = _batch()
    outputs = {"logits": torch.randn(16, 4, requires_grad=True), "features": features.requires_grad_()}
    total, terms, stats = compute_losses(_cfg(names=["CrossEntropyLoss"]), outputs, targets)
    assert set(terms) == {"loss_ce"} and set(stats) == set(STAT_NAMES)
    torch.testing.assert_close(total, terms["loss_ce"])
    total.backward()
    assert outputs["features"].grad is None  # the triplet stats did not join the graph


def test_stats_on_a_hand_made_batch() -> None:
    # 1-D points 0, 1, 3, 5 with ids 0, 0, 1, 1: d01=1, d02=3, d03=5, d12=2, d13=4, d23=2.
    features = torch.tensor([[0.0], [1.0], [3.0], [5.0]])
    targets = torch.tensor([0, 0, 1, 1])
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0], [0.0, 1.0]])  # 3 of 4 right
    cfg = _cfg(tri={"MARGIN": 0.3, "HARD_MINING": True})
    total, terms, stats = compute_losses(cfg, {"logits": logits, "features": features}, targets)
    # hardest (d_ap, d_an) per anchor: (1, 3), (1, 2), (2, 2), (2, 4): only anchor 2 is active (hinge 0.3).
    assert stats["cls_accuracy"].item() == pytest.approx(0.75)
    assert stats["triplet_active_fraction"].item() == pytest.approx(0.25)
    assert stats["dist_ap"].item() == pytest.approx(1.5, abs=1e-5)
    assert stats["dist_an"].item() == pytest.approx(2.75, abs=1e-5)
    assert terms["loss_triplet"].item() == pytest.approx(0.075, abs=1e-5)
    for value in stats.values():
        assert isinstance(value, torch.Tensor) and value.dim() == 0 and not value.requires_grad
        assert value.dtype == torch.float32


def test_losses_are_float32_under_bf16_autocast() -> None:
    features, targets = _batch()
    logits = torch.randn(16, 4)
    outputs = {"logits": logits.bfloat16(), "features": features.bfloat16()}
    reference = {"logits": logits.bfloat16().float(), "features": features.bfloat16().float()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, terms, _ = compute_losses(_cfg(), outputs, targets)
    expected, _, _ = compute_losses(_cfg(), reference, targets)
    assert total.dtype == torch.float32 and all(t.dtype == torch.float32 for t in terms.values())
    torch.testing.assert_close(total, expected)


@pytest.mark.parametrize("epsilon", [0.0, 0.1])
def test_ce_of_a_fresh_model_is_about_log_num_classes(epsilon: float) -> None:
    torch.manual_seed(0)
    num_classes = 100
    cfg = _cfg(
        names=["CrossEntropyLoss"],
        ce={"EPSILON": epsilon},
        BACKBONE={"DEPTH": "18x", "FEAT_DIM": 512, "PRETRAIN": False},
        HEADS={"WITH_BNNECK": True},
    )
    model = build_model(cfg, num_classes).train()
    images = torch.randint(0, 256, (8, 3, 64, 32), dtype=torch.uint8)
    _, terms, _ = compute_losses(cfg, model(images), torch.randint(0, num_classes, (8,)))
    assert terms["loss_ce"].item() == pytest.approx(math.log(num_classes), abs=0.05)


def test_triplet_terms_report_per_anchor_parts() -> None:
    features, targets = _batch()
    result = triplet_loss_terms(features, targets, 0.3)
    assert result.dist_ap.shape == result.dist_an.shape == result.hinge.shape == (16,)
    assert result.valid.all()
