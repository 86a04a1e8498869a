"""Alpha query expansion against a plain reference: fast-reid's algorithm over the full similarity matrix, in numpy."""

import numpy as np
import pytest
import torch

from reidlab.evaluation import alpha_query_expansion, evaluate_features


def reference_aqe(query: np.ndarray, gallery: np.ndarray, times: int, k: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Each feature <- mean over its k most similar features (itself included) of feature * similarity**alpha."""
    features = np.concatenate([query, gallery]).astype(np.float64)
    for _ in range(times):
        unit = features / np.linalg.norm(features, axis=1, keepdims=True)
        similarity = unit @ unit.T
        nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        weights = np.take_along_axis(similarity, nearest, axis=1) ** alpha
        features = (features[nearest] * weights[..., None]).mean(axis=1)
    return features[: len(query)], features[len(query) :]


@pytest.mark.parametrize("times, k, alpha, chunk_rows", [(1, 5, 3.0, None), (2, 3, 1.0, 7), (1, 1, 3.0, 4), (3, 10, 0.0, None)])
def test_matches_the_plain_reference(times, k, alpha, chunk_rows):
    rng = np.random.default_rng(times * 10 + k)
    query, gallery = rng.normal(size=(13, 16)).astype(np.float32), rng.normal(size=(40, 16)).astype(np.float32)
    got_q, got_g = alpha_query_expansion(torch.from_numpy(query), torch.from_numpy(gallery), times, k, alpha, chunk_rows=chunk_rows)
    want_q, want_g = reference_aqe(query, gallery, times, k, alpha)
    np.testing.assert_allclose(got_q.numpy(), want_q, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_g.numpy(), want_g, rtol=1e-4, atol=1e-5)


def test_k_one_keeps_each_feature_as_it_is():
    query, gallery = torch.randn(3, 4), torch.randn(5, 4)
    got_q, got_g = alpha_query_expansion(query, gallery, 1, 1, 3.0)
    torch.testing.assert_close(got_q, query)  # its own similarity is 1, and 1**alpha = 1
    torch.testing.assert_close(got_g, gallery)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="k >= 1"):
        alpha_query_expansion(torch.randn(2, 3), torch.randn(2, 3), 1, 0, 3.0)


def test_evaluate_features_ranks_the_expanded_features():
    rng = np.random.default_rng(0)
    query, gallery = rng.normal(size=(20, 8)).astype(np.float32), rng.normal(size=(60, 8)).astype(np.float32)
    labels = (rng.integers(0, 5, 20), rng.integers(0, 5, 60), np.zeros(20, int), np.ones(60, int))
    want_q, want_g = reference_aqe(query, gallery, 1, 5, 3.0)
    expanded = evaluate_features(torch.from_numpy(query), torch.from_numpy(gallery), *labels, aqe=(1, 5, 3.0))
    by_hand = evaluate_features(torch.from_numpy(want_q).float(), torch.from_numpy(want_g).float(), *labels)
    plain = evaluate_features(torch.from_numpy(query), torch.from_numpy(gallery), *labels)
    assert expanded.mAP == pytest.approx(by_hand.mAP, abs=1e-6) and expanded.mAP != pytest.approx(plain.mAP, abs=1e-4)
