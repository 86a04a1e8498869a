"""PerQueryResult: contents, summaries, and the npz round trip."""

from __future__ import annotations

import numpy as np
import pytest

from reidlab.evaluation import PerQueryResult, evaluate_rank, per_query_from_distmat


def _case():
    # q0: pid 1 cam 0 -> g0 junk; matches g2 (rank 2) and g4 (rank 4): AP 0.5, INP 0.5
    # q1: pid 4 cam 0 -> match g5 at rank 1: AP 1, INP 1
    # q2: pid 3 cam 1 -> only pid-3 entry is same camera: invalid
    distmat = np.array(
        [
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            [0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        ]
    )
    return distmat, np.array([1, 4, 3]), np.array([1, 2, 1, 3, 1, 4]), np.array([0, 0, 1]), np.array([0, 1, 1, 1, 2, 1])


def test_per_query_fields():
    pq = per_query_from_distmat(*_case())
    np.testing.assert_array_equal(pq.query_index, [0, 1, 2])
    np.testing.assert_array_equal(pq.pid, [1, 4, 3])
    np.testing.assert_array_equal(pq.camid, [0, 0, 1])
    np.testing.assert_array_equal(pq.valid, [True, True, False])
    np.testing.assert_array_equal(pq.ap[:2], [0.5, 1.0])
    np.testing.assert_array_equal(pq.inp[:2], [0.5, 1.0])
    assert np.isnan(pq.ap[2]) and np.isnan(pq.inp[2])
    np.testing.assert_array_equal(pq.first_match_rank, [2, 1, -1])
    np.testing.assert_array_equal(pq.num_matches, [2, 1, 0])
    np.testing.assert_array_equal(pq.rank1, [False, True, False])
    assert pq.num_queries == 3 and pq.num_valid == 2
    assert pq.mAP == 0.75 and pq.mINP == 0.75
    assert pq.rank(1) == 0.5 and pq.rank(2) == 1.0 and pq.rank(100) == 1.0


def test_per_query_agrees_with_evaluate_rank():
    rng = np.random.default_rng(2)
    distmat = rng.random((25, 80))
    args = (distmat, rng.integers(0, 6, 25), rng.integers(0, 6, 80), rng.integers(0, 3, 25), rng.integers(0, 3, 80))
    cmc, aps, inps = evaluate_rank(*args, max_rank=30)
    pq = per_query_from_distmat(*args)
    np.testing.assert_array_equal(pq.cmc(30), cmc)
    np.testing.assert_array_equal(pq.ap[pq.valid], aps)
    np.testing.assert_array_equal(pq.inp[pq.valid], inps)


def test_npz_round_trip(tmp_path):
    pq = per_query_from_distmat(*_case())
    arrays = pq.to_arrays()
    assert {"ap", "rank1", "inp", "pid", "camid", "valid", "query_index"} <= set(arrays)
    path = tmp_path / "best_per_query.npz"
    np.savez(path, **arrays)
    with np.load(path) as loaded:
        back = PerQueryResult.from_arrays(loaded)
    for name in ("query_index", "pid", "camid", "valid", "ap", "inp", "first_match_rank", "num_matches"):
        np.testing.assert_array_equal(getattr(back, name), getattr(pq, name))
    assert back.mAP == pq.mAP


def test_from_arrays_rejects_missing_or_inconsistent_arrays():
    arrays = per_query_from_distmat(*_case()).to_arrays()
    del arrays["ap"]
    with pytest.raises(ValueError, match="lack ap"):
        PerQueryResult.from_arrays(arrays)
    arrays = per_query_from_distmat(*_case()).to_arrays()
    arrays["inp"] = arrays["inp"][:2]
    with pytest.raises(ValueError, match="inp has 2 entries but pid has 3"):
        PerQueryResult.from_arrays(arrays)
    arrays = per_query_from_distmat(*_case()).to_arrays()
    arrays["format_version"] = np.asarray(99)
    with pytest.raises(ValueError, match="format_version 99"):
        PerQueryResult.from_arrays(arrays)


def test_cmc_without_valid_queries_raises():
    pq = per_query_from_distmat(np.array([[0.1]]), [1], [1], [0], [0])
    assert pq.num_valid == 0 and np.isnan(pq.mAP)
    with pytest.raises(ValueError, match="no valid query"):
        pq.cmc(5)
