"""Re-ranking streamed from features (no N x N matrix) against the dense entry point, and inside evaluation."""

import numpy as np
import pytest
import torch

from reidlab.evaluation import compute_distance, evaluate_features, iter_reranked_rows, per_query_from_distmat, re_ranking


def dense(query, gallery, metric, k1, k2, lam):
    return re_ranking(compute_distance(query, gallery, metric), compute_distance(query, query, metric), compute_distance(gallery, gallery, metric), k1, k2, lam)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("k1, k2, lam, block_rows", [(20, 6, 0.3, None), (5, 1, 0.0, 3), (3, 2, 1.0, 50), (30, 6, 0.3, 11)])
def test_streamed_rows_equal_the_dense_re_ranking(metric, k1, k2, lam, block_rows):
    generator = torch.Generator().manual_seed(k1 + k2)
    query, gallery = torch.randn(23, 12, generator=generator), torch.randn(71, 12, generator=generator)
    streamed = torch.cat(list(iter_reranked_rows(query, gallery, metric, k1, k2, lam, block_rows=block_rows))).numpy()
    np.testing.assert_allclose(streamed, dense(query, gallery, metric, k1, k2, lam), atol=2e-6)


def test_evaluation_with_re_ranking_ranks_the_dense_re_ranked_distances():
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(15, 32, generator=generator)
    pids = torch.arange(15).repeat_interleave(6)
    features = centres[pids] + 0.7 * torch.randn(len(pids), 32, generator=generator)
    cams = torch.arange(len(pids)) % 3
    q = torch.arange(len(pids)) % 6 == 0
    labels = (pids[q].numpy(), pids[~q].numpy(), cams[q].numpy(), cams[~q].numpy())
    got = evaluate_features(features[q], features[~q], *labels, rerank=True, k1=8, k2=3, lambda_value=0.3, chunk_rows=4)
    want = per_query_from_distmat(dense(features[q], features[~q], "cosine", 8, 3, 0.3), *labels)
    assert got.mAP == pytest.approx(want.mAP, abs=1e-9) and np.array_equal(got.per_query.first_match_rank, want.first_match_rank)
    plain = evaluate_features(features[q], features[~q], *labels)
    assert got.mAP != pytest.approx(plain.mAP, abs=1e-6)  # re-ranking did change the ranking


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="lambda_value"):
        next(iter_reranked_rows(torch.randn(2, 3), torch.randn(3, 3), "cosine", 2, 1, 1.5))

