"""Distances, the features-level entry point, and the flip-test helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reidlab.evaluation import (
    EvaluationResult,
    compute_distance,
    evaluate_distmat,
    evaluate_features,
    evaluate_rank,
    extract_features,
    flip_average,
    iter_distance_chunks,
    per_query_from_distmat,
    re_ranking,
)


def _features(seed=0, num_q=30, num_g=120, dim=16, num_ids=8):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(num_ids, dim, generator=gen)
    q_pids = torch.randint(0, num_ids, (num_q,), generator=gen)
    g_pids = torch.randint(0, num_ids, (num_g,), generator=gen)
    query = centers[q_pids] + 0.8 * torch.randn(num_q, dim, generator=gen)
    gallery = centers[g_pids] + 0.8 * torch.randn(num_g, dim, generator=gen)
    q_cams = torch.randint(0, 3, (num_q,), generator=gen)
    g_cams = torch.randint(0, 3, (num_g,), generator=gen)
    return query, gallery, q_pids, g_pids, q_cams, g_cams


# --------------------------------------------------------------------------- distances


def test_cosine_distance_is_one_minus_cosine():
    query, gallery, *_ = _features()
    want = 1 - torch.nn.functional.cosine_similarity(query[:, None, :], gallery[None, :, :], dim=2)
    torch.testing.assert_close(compute_distance(query, gallery), want, atol=1e-5, rtol=0)


def test_euclidean_distance_matches_cdist():
    query, gallery, *_ = _features()
    want = torch.cdist(query.double(), gallery.double()).float()
    torch.testing.assert_close(compute_distance(query, gallery, "euclidean"), want, atol=1e-4, rtol=1e-5)
    same = compute_distance(query, query, "euclidean")
    assert torch.all(same.diagonal() < 1e-2) and torch.all(same >= 0)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_distance_chunks_cover_the_full_matrix(metric):
    query, gallery, *_ = _features()
    chunks = [chunk.clone() for chunk in iter_distance_chunks(query, gallery, metric, chunk_rows=7)]
    assert [len(c) for c in chunks] == [7, 7, 7, 7, 2]
    torch.testing.assert_close(torch.cat(chunks), compute_distance(query, gallery, metric), atol=1e-5, rtol=0)


def test_unknown_metric_raises():
    query, gallery, *labels = _features()
    with pytest.raises(ValueError, match="metric must be one of cosine, euclidean"):
        compute_distance(query, gallery, "manhattan")
    with pytest.raises(ValueError, match="metric must be one of"):
        evaluate_features(query, gallery, *labels, metric="hamming")


# --------------------------------------------------------------------------- evaluate_features


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_evaluate_features_equals_evaluate_rank_on_the_distance_matrix(metric):
    query, gallery, q_pids, g_pids, q_cams, g_cams = _features()
    result = evaluate_features(query, gallery, q_pids, g_pids, q_cams, g_cams, metric=metric, max_rank=20)
    distmat = compute_distance(query, gallery, metric)
    cmc, aps, inps = evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=20)
    np.testing.assert_array_equal(result.cmc, cmc)
    np.testing.assert_allclose(result.per_query.ap[result.per_query.valid], aps, atol=1e-12)
    assert result.mAP == pytest.approx(np.mean(aps), abs=1e-12)
    assert result.mINP == pytest.approx(np.mean(inps), abs=1e-12)


def test_chunk_size_does_not_change_results():
    args = _features(seed=1)
    base = evaluate_features(*args, chunk_rows=1000)
    for rows in (1, 4, 29):
        other = evaluate_features(*args, chunk_rows=rows)
        np.testing.assert_allclose(other.per_query.ap, base.per_query.ap, atol=1e-12)
        np.testing.assert_array_equal(other.per_query.first_match_rank, base.per_query.first_match_rank)


def test_result_summary_and_ranks():
    result = evaluate_features(*_features(seed=2), max_rank=5)
    summary = result.summary()
    assert list(summary) == ["mAP", "rank1", "rank5", "rank10", "mINP"]
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in summary.values())
    assert result.rank1 == float(result.cmc[0]) and result.rank5 == float(result.cmc[4])
    assert result.rank10 >= result.rank5 >= result.rank1  # rank10 works even with max_rank=5
    assert isinstance(result, EvaluationResult) and result.cmc.shape == (5,)


def test_evaluate_distmat_matches_features_path():
    query, gallery, *labels = _features(seed=3)
    via_features = evaluate_features(query, gallery, *labels)
    via_distmat = evaluate_distmat(compute_distance(query, gallery).numpy(), *labels)
    assert via_features.summary() == pytest.approx(via_distmat.summary(), abs=1e-12)


def test_perfect_features_score_one():
    # Identical query and gallery features of distinct identities: every query's own-pid
    # gallery entry (another camera) is its nearest neighbour.
    feats = torch.eye(6) + 0.01
    pids = torch.arange(6)
    result = evaluate_features(feats, feats.clone(), pids, pids, torch.zeros(6), torch.ones(6))
    assert result.summary() == {"mAP": 1.0, "rank1": 1.0, "rank5": 1.0, "rank10": 1.0, "mINP": 1.0}


def test_rerank_option_equals_re_ranking_then_evaluate_rank():
    query, gallery, q_pids, g_pids, q_cams, g_cams = _features(seed=4)
    result = evaluate_features(
        query, gallery, q_pids, g_pids, q_cams, g_cams, rerank=True, k1=5, k2=3, lambda_value=0.2
    )
    distmat = re_ranking(
        compute_distance(query, gallery), compute_distance(query, query), compute_distance(gallery, gallery), 5, 3, 0.2
    )
    cmc, aps, _ = evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams)
    np.testing.assert_array_equal(result.cmc, cmc)
    assert result.mAP == pytest.approx(np.mean(aps), abs=1e-12)


def test_evaluate_features_argument_errors():
    query, gallery, q_pids, g_pids, q_cams, g_cams = _features()
    with pytest.raises(ValueError, match="q_pids has 29 entries but query_feats has 30 rows"):
        evaluate_features(query, gallery, q_pids[:-1], g_pids, q_cams, g_cams)
    with pytest.raises(ValueError, match="g_camids has 119 entries but gallery_feats has 120 rows"):
        evaluate_features(query, gallery, q_pids, g_pids, q_cams, g_cams[:-1])
    with pytest.raises(ValueError, match="query_feats has dimension 16 but gallery_feats has dimension 15"):
        evaluate_features(query, gallery[:, :15], q_pids, g_pids, q_cams, g_cams)
    bad = query.clone()
    bad[3, 2] = float("nan")
    with pytest.raises(ValueError, match="query_feats contains NaN or inf"):
        evaluate_features(bad, gallery, q_pids, g_pids, q_cams, g_cams)
    with pytest.raises(ValueError, match="query_feats has no rows"):
        evaluate_features(query[:0], gallery, q_pids[:0], g_pids, q_cams[:0], g_cams)
    with pytest.raises(ValueError, match="gallery_feats must be 2-D"):
        evaluate_features(query, gallery[0], q_pids, g_pids, q_cams, g_cams)
    with pytest.raises(ValueError, match="no query has a valid match"):
        evaluate_features(query, gallery, q_pids + 100, g_pids, q_cams, g_cams)


# --------------------------------------------------------------------------- flip test


def _not_flip_invariant(images: torch.Tensor) -> torch.Tensor:
    # Weights each column by its position, so the mirror image gives different features.
    weights = torch.arange(1.0, images.shape[3] + 1)
    return (images * weights).sum(dim=(2, 3))


def test_flip_average_is_mean_of_image_and_mirror():
    images = torch.rand(4, 3, 5, 6)
    got = flip_average(_not_flip_invariant, images)
    want = (_not_flip_invariant(images) + _not_flip_invariant(torch.flip(images, dims=[3]))) / 2
    torch.testing.assert_close(got, want)
    # averaging makes the features mirror-invariant
    torch.testing.assert_close(flip_average(_not_flip_invariant, images.flip(3)), got)
    with pytest.raises(ValueError, match=r"images must be \(N, C, H, W\)"):
        flip_average(_not_flip_invariant, images[0])


def test_extract_features_concatenates_batches():
    batches = [torch.rand(4, 3, 5, 6), torch.rand(2, 3, 5, 6)]
    plain = extract_features(_not_flip_invariant, batches)
    flipped = extract_features(_not_flip_invariant, batches, flip=True)
    assert plain.shape == flipped.shape == (6, 3) and plain.dtype == torch.float32
    torch.testing.assert_close(plain, torch.cat([_not_flip_invariant(b) for b in batches]))
    torch.testing.assert_close(flipped, torch.cat([flip_average(_not_flip_invariant, b) for b in batches]))
    assert not torch.allclose(plain, flipped)
    with pytest.raises(ValueError, match="batches is empty"):
        extract_features(_not_flip_invariant, [])


def test_extract_features_runs_without_grad():
    layer = torch.nn.Linear(6, 2)
    feats = extract_features(lambda x: layer(x.mean(dim=(1, 2))), [torch.rand(3, 1, 4, 6)], flip=True)
    assert not feats.requires_grad


def test_chunked_ranking_equals_the_dense_path_at_market_size():
    """3368 queries x 15913 gallery (Market-1501's sizes), 64-d: the chunked evaluation and the full matrix agree to 1e-9."""
    generator = torch.Generator().manual_seed(0)
    num_q, num_g, ids = 3368, 15913, 751
    q_pids, g_pids = torch.randint(0, ids, (num_q,), generator=generator), torch.randint(0, ids, (num_g,), generator=generator)
    centres = torch.randn(ids, 64, generator=generator)
    query = centres[q_pids] + 0.9 * torch.randn(num_q, 64, generator=generator)
    gallery = centres[g_pids] + 0.9 * torch.randn(num_g, 64, generator=generator)
    q_cams, g_cams = torch.randint(0, 6, (num_q,), generator=generator), torch.randint(0, 6, (num_g,), generator=generator)
    labels = (q_pids.numpy(), g_pids.numpy(), q_cams.numpy(), g_cams.numpy())
    chunked = evaluate_features(query, gallery, *labels, chunk_rows=97)
    dense_result = per_query_from_distmat(compute_distance(query, gallery), *labels, chunk_rows=num_q)
    assert 0.05 < chunked.mAP < 0.95
    assert abs(chunked.mAP - dense_result.mAP) <= 1e-9 and np.array_equal(chunked.per_query.first_match_rank, dense_result.first_match_rank)
