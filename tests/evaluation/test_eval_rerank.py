"""k-reciprocal re-ranking against the standard reference implementation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from reidlab.evaluation import compute_distance, re_ranking

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluation_reference import reference_re_ranking  # noqa: E402


def _distances(seed, num_q, num_g, dim=8, metric="cosine", quantise=None):
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(num_q, dim, generator=gen)
    gallery = torch.randn(num_g, dim, generator=gen)
    if quantise:  # few distinct feature values: many exactly equal distances
        query, gallery = (query * quantise).round(), (gallery * quantise).round()
    return tuple(
        compute_distance(a, b, metric).numpy() for a, b in ((query, gallery), (query, query), (gallery, gallery))
    )


@pytest.mark.parametrize(
    "seed, num_q, num_g, k1, k2, lam, metric",
    [
        (0, 10, 40, 20, 6, 0.3, "cosine"),  # the defaults
        (1, 12, 50, 20, 6, 0.3, "euclidean"),
        (2, 5, 30, 6, 3, 0.5, "cosine"),
        (3, 8, 25, 4, 1, 0.0, "euclidean"),  # no query expansion, pure Jaccard
        (4, 3, 7, 30, 20, 1.0, "cosine"),  # k1, k2 larger than the image count
        (5, 1, 1, 20, 6, 0.3, "cosine"),
        (6, 20, 60, 11, 4, 0.7, "euclidean"),  # odd k1: round(k1 / 2) rounds half to even
    ],
)
def test_matches_reference(seed, num_q, num_g, k1, k2, lam, metric):
    q_g, q_q, g_g = _distances(seed, num_q, num_g, metric=metric)
    got = re_ranking(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lam)
    want = reference_re_ranking(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lam)
    assert got.shape == (num_q, num_g) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_with_tied_distances(seed):
    # Rounded features repeat, so many distances tie; both sides order ties by index.
    q_g, q_q, g_g = _distances(seed, 10, 35, dim=3, metric="euclidean", quantise=1)
    got = re_ranking(q_g, q_q, g_g, k1=6, k2=3)
    want = reference_re_ranking(q_g, q_q, g_g, k1=6, k2=3)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)


def test_accepts_torch_and_float64_inputs():
    q_g, q_q, g_g = _distances(7, 6, 20)
    want = reference_re_ranking(q_g, q_q, g_g)
    got = re_ranking(torch.from_numpy(q_g), torch.from_numpy(q_q), torch.from_numpy(g_g))
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    q_g64, q_q64, g_g64 = (d.astype(np.float64) for d in (q_g, q_q, g_g))
    np.testing.assert_allclose(
        re_ranking(q_g64, q_q64, g_g64), reference_re_ranking(q_g64, q_q64, g_g64), rtol=0, atol=2e-6
    )


def test_bad_inputs_raise():
    q_g, q_q, g_g = _distances(8, 4, 9)
    with pytest.raises(ValueError, match="q_q_dist has shape"):
        re_ranking(q_g, q_q[:3, :3], g_g)
    with pytest.raises(ValueError, match="g_g_dist has shape"):
        re_ranking(q_g, q_q, g_g[:8])
    bad = q_g.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="q_g_dist contains NaN or inf"):
        re_ranking(bad, q_q, g_g)
    with pytest.raises(ValueError, match="k1 must be a positive integer"):
        re_ranking(q_g, q_q, g_g, k1=0)
    with pytest.raises(ValueError, match="lambda_value must be in"):
        re_ranking(q_g, q_q, g_g, lambda_value=1.5)
