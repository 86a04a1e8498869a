"""evaluate_rank: hand-computed cases, the reference algorithm, properties, ties, edge cases."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reidlab.evaluation import evaluate_rank, match_ranks, per_query_from_distmat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluation_reference import reference_evaluate_rank  # noqa: E402

# --------------------------------------------------------------------------- hand-computed


def _three_queries():
    # gallery index:    0    1    2    3    4    5
    g_pids = np.array([1, 2, 1, 3, 1, 4])
    g_cams = np.array([0, 1, 1, 1, 2, 1])
    distmat = np.array(
        [
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],  # q0: pid 1, cam 0
            [0.6, 0.5, 0.4, 0.3, 0.2, 0.1],  # q1: pid 4, cam 0
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],  # q2: pid 3, cam 1
        ],
        dtype=np.float32,
    )
    return distmat, np.array([1, 4, 3]), g_pids, np.array([0, 0, 1]), g_cams


def test_hand_computed_three_queries():
    # q0 (pid 1, cam 0): gallery 0 has pid 1 AND cam 0 -> dropped. Remaining order by distance:
    #   g1 (pid 2) -, g2 (pid 1) +, g3 (pid 3) -, g4 (pid 1) +, g5 (pid 4) -
    #   matches at ranks 2 and 4: AP = (1/2 + 2/4) / 2 = 0.5; INP = 2 / 4 = 0.5; first match rank 2.
    # q1 (pid 4, cam 0): nearest is g5 (pid 4, cam 1) -> rank 1; AP = 1/1 = 1; INP = 1/1 = 1.
    # q2 (pid 3, cam 1): its only pid-3 gallery entry g3 has cam 1 -> dropped -> not valid, skipped.
    # CMC over the 2 valid queries: rank 1: 1/2 = 0.5; rank >= 2: 2/2 = 1.
    cmc, aps, inps = evaluate_rank(*_three_queries(), max_rank=5)
    np.testing.assert_array_equal(aps, [0.5, 1.0])
    np.testing.assert_array_equal(inps, [0.5, 1.0])
    np.testing.assert_array_equal(cmc, np.array([0.5, 1, 1, 1, 1], dtype=np.float32))
    assert cmc.dtype == np.float32
    assert np.mean(aps) == 0.75  # mAP


def test_hand_computed_average_precision():
    # Query pid 7, cam 0; gallery already in distance order, all in other cameras.
    # hits:        1    0    1    0    0    1
    # precision:  1/1       2/3            3/6   -> AP = (1 + 2/3 + 1/2) / 3 = 0.7222...
    # INP = 3 matches / rank of last match 6 = 0.5
    g_pids = np.array([7, 8, 7, 9, 8, 7])
    g_cams = np.ones(6, dtype=int)
    distmat = np.arange(1, 7, dtype=np.float32)[None, :] / 10
    cmc, aps, inps = evaluate_rank(distmat, [7], g_pids, [0], g_cams, max_rank=3)
    assert aps[0] == pytest.approx((1 + 2 / 3 + 1 / 2) / 3, abs=1e-15)
    assert inps[0] == 0.5
    np.testing.assert_array_equal(cmc, [1, 1, 1])


def test_same_camera_junk_does_not_count_as_negative():
    # Query pid 1 cam 0. Order: g0 (pid 1, cam 0: junk, removed), g1 (pid 1, cam 1: match).
    # After removal the match is rank 1 -> AP 1, CMC rank-1 = 1.
    cmc, aps, inps = evaluate_rank(np.array([[0.1, 0.2]]), [1], [1, 1], [0], [0, 1], max_rank=1)
    assert aps[0] == 1.0 and inps[0] == 1.0 and cmc[0] == 1.0


def test_other_pid_in_same_camera_is_a_negative():
    # Query pid 1 cam 0; g0 is pid 2 in cam 0 (kept: only same pid AND same cam is dropped).
    # Order: g0 (pid 2) -, g1 (pid 1, cam 1) + -> rank 2, AP 1/2, INP 1/2, CMC [0, 1].
    cmc, aps, inps = evaluate_rank(np.array([[0.1, 0.2]]), [1], [2, 1], [0], [0, 1], max_rank=2)
    assert aps[0] == 0.5 and inps[0] == 0.5
    np.testing.assert_array_equal(cmc, [0, 1])


# --------------------------------------------------------------------------- ties


def test_ties_are_ordered_by_gallery_index():
    # Both gallery entries at distance 0.5. Rule: equal distances -> lower gallery index first.
    # g0 non-match, g1 match: order g0, g1 -> match at rank 2 -> AP 1/2.
    _, aps, _ = evaluate_rank(np.array([[0.5, 0.5]]), [1], [2, 1], [0], [1, 1], max_rank=2)
    assert aps[0] == 0.5
    # g0 match, g1 non-match: order g0, g1 -> match at rank 1 -> AP 1.
    _, aps, _ = evaluate_rank(np.array([[0.5, 0.5]]), [1], [1, 2], [0], [1, 1], max_rank=2)
    assert aps[0] == 1.0


def test_ties_between_matches_and_junk_and_many_negatives():
    # distances:   0.3  0.3  0.3  0.3  0.3  0.1
    # pid/cam:     2/1  1/0  1/1  3/1  1/2  4/1     query pid 1, cam 0
    # g1 is junk (same pid+cam) and disappears. Order: g5 (0.1, -), then ties by index:
    # g0 -, g2 +, g3 -, g4 +  -> matches at ranks 3 and 5: AP = (1/3 + 2/5) / 2, INP = 2/5.
    distmat = np.array([[0.3, 0.3, 0.3, 0.3, 0.3, 0.1]])
    cmc, aps, inps = evaluate_rank(distmat, [1], [2, 1, 1, 3, 1, 4], [0], [1, 0, 1, 1, 2, 1], max_rank=6)
    assert aps[0] == pytest.approx((1 / 3 + 2 / 5) / 2, abs=1e-15)
    assert inps[0] == pytest.approx(2 / 5)
    np.testing.assert_array_equal(cmc, [0, 0, 1, 1, 1, 1])


def test_all_distances_equal_is_gallery_order():
    rng = np.random.default_rng(3)
    g_pids = rng.integers(0, 5, 40)
    g_cams = rng.integers(0, 3, 40)
    q_pids, q_cams = rng.integers(0, 5, 9), rng.integers(0, 3, 9)
    distmat = np.zeros((9, 40), dtype=np.float32)
    got = evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=10)
    want = reference_evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=10)
    _assert_same(got, want)


# --------------------------------------------------------------------------- reference


def _assert_same(got, want):
    cmc, aps, inps = got
    ref_cmc, ref_aps, ref_inps = want
    np.testing.assert_array_equal(cmc, ref_cmc)  # bit-identical CMC
    assert len(aps) == len(ref_aps)
    np.testing.assert_allclose(aps, ref_aps, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(inps, ref_inps)


def _random_case(rng, num_q, num_g, num_ids, num_cams, levels=None):
    if levels is None:  # distinct values within each row: no ties
        distmat = np.argsort(rng.random((num_q, num_g)), axis=1).astype(np.float32) / num_g
    else:  # few distinct values: many ties
        distmat = rng.integers(0, levels, (num_q, num_g)).astype(np.float32) / levels
    return (
        distmat,
        rng.integers(0, num_ids, num_q),
        rng.integers(0, num_ids, num_g),
        rng.integers(0, num_cams, num_q),
        rng.integers(0, num_cams, num_g),
    )


@pytest.mark.parametrize("levels", [None, 2, 5, 50])
def test_matches_reference_on_random_cases(levels):
    rng = np.random.default_rng(0 if levels is None else levels)
    checked = 0
    for _ in range(60):
        case = _random_case(rng, int(rng.integers(1, 12)), int(rng.integers(1, 60)), int(rng.integers(1, 8)), 3, levels)
        try:
            want = reference_evaluate_rank(*case, max_rank=20)
        except AssertionError:  # no valid query
            with pytest.raises(ValueError, match="no query has a valid match"):
                evaluate_rank(*case, max_rank=20)
            continue
        _assert_same(evaluate_rank(*case, max_rank=20), want)
        checked += 1
    assert checked > 20


def test_matches_reference_across_chunks_and_input_types():
    rng = np.random.default_rng(11)
    distmat, q_pids, g_pids, q_cams, g_cams = _random_case(rng, 37, 300, 20, 4, levels=40)
    want = reference_evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=50)
    _assert_same(evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams), want)
    for rows in (1, 5, 36, 100):
        pq = per_query_from_distmat(distmat, q_pids, g_pids, q_cams, g_cams, chunk_rows=rows)
        np.testing.assert_allclose(pq.ap[pq.valid], want[1], atol=1e-12)
        np.testing.assert_array_equal(pq.cmc(50), want[0])
    # torch tensors, float64, Fortran order and integer distances give the same answer
    labels = (torch.from_numpy(q_pids), torch.from_numpy(g_pids), torch.from_numpy(q_cams), torch.from_numpy(g_cams))
    _assert_same(evaluate_rank(torch.from_numpy(distmat), *labels), want)
    _assert_same(evaluate_rank(distmat.astype(np.float64), q_pids, g_pids, q_cams, g_cams), want)
    _assert_same(evaluate_rank(np.asfortranarray(distmat), q_pids, g_pids, q_cams, g_cams), want)
    _assert_same(evaluate_rank((distmat * 40).round().astype(np.int32), q_pids, g_pids, q_cams, g_cams), want)


@pytest.mark.parametrize("num_g", [31, 32, 33, 64, 100, 257])
@pytest.mark.parametrize("levels", [None, 3, 30])
def test_matches_reference_around_block_boundaries(num_g, levels):
    # The fast path prunes whole blocks of match_ranks.BLOCK gallery columns and treats a
    # last partial block apart; exercise full, partial and missing last blocks.
    rng = np.random.default_rng(num_g * 7 + (levels or 0))
    case = _random_case(rng, 25, num_g, 6, 3, levels)
    _assert_same(evaluate_rank(*case), reference_evaluate_rank(*case))


def test_tiny_blocks_and_batches_match_reference(monkeypatch):
    # Many blocks and many candidate batches per chunk.
    monkeypatch.setattr(match_ranks, "BLOCK", 4)
    monkeypatch.setattr(match_ranks, "MAX_BATCH_ENTRIES", 16)
    rng = np.random.default_rng(21)
    for levels in (None, 4, 25):
        case = _random_case(rng, 30, 203, 5, 3, levels)
        _assert_same(evaluate_rank(*case), reference_evaluate_rank(*case))


def test_matches_reference_with_distractors_and_junk_labels():
    # pid 0 (distractors) and -1 (junk) get no special treatment, as in fast-reid/torchreid.
    rng = np.random.default_rng(5)
    distmat = rng.random((30, 200)).astype(np.float32)
    g_pids = rng.integers(-1, 6, 200)
    q_pids = rng.integers(-1, 6, 30)
    q_cams, g_cams = rng.integers(0, 3, 30), rng.integers(0, 3, 200)
    _assert_same(
        evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams),
        reference_evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams),
    )


# --------------------------------------------------------------------------- properties


@st.composite
def rank_cases(draw, ties=False):
    num_q = draw(st.integers(1, 6))
    num_g = draw(st.integers(1, 90))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return _random_case(rng, num_q, num_g, draw(st.integers(1, 5)), draw(st.integers(1, 3)), 4 if ties else None)


def _evaluate_or_none(case, max_rank=10):
    try:
        return evaluate_rank(*case, max_rank=max_rank)
    except ValueError as err:
        assert "no query has a valid match" in str(err)
        return None


@settings(max_examples=60, deadline=None)
@given(rank_cases(ties=True))
def test_property_metric_ranges(case):
    result = _evaluate_or_none(case)
    if result is None:
        return
    cmc, aps, inps = result
    assert len(cmc) == 10
    assert np.all(np.diff(cmc) >= 0) and np.all(cmc <= 1) and np.all(cmc >= 0)
    assert np.all(aps > 0) and np.all(aps <= 1)
    assert np.all(inps > 0) and np.all(inps <= 1)


@settings(max_examples=60, deadline=None)
@given(rank_cases(ties=True))
def test_property_equals_reference_with_ties(case):
    result = _evaluate_or_none(case)
    if result is not None:
        _assert_same(result, reference_evaluate_rank(*case, max_rank=10))


@settings(max_examples=50, deadline=None)
@given(rank_cases(ties=False), st.randoms(use_true_random=False))
def test_property_gallery_permutation_changes_nothing_without_ties(case, random):
    distmat, q_pids, g_pids, q_cams, g_cams = case
    result = _evaluate_or_none(case)
    if result is None:
        return
    perm = np.array(random.sample(range(len(g_pids)), len(g_pids)))
    permuted = _evaluate_or_none((distmat[:, perm], q_pids, g_pids[perm], q_cams, g_cams[perm]))
    np.testing.assert_array_equal(result[0], permuted[0])
    np.testing.assert_allclose(result[1], permuted[1], atol=1e-12)
    np.testing.assert_allclose(result[2], permuted[2], atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(rank_cases(ties=True))
def test_property_perfect_ranking_gives_map_one(case):
    distmat, q_pids, g_pids, q_cams, g_cams = case
    # Every match closer than every non-match (junk may sit anywhere).
    is_match = g_pids[None, :] == q_pids[:, None]
    perfect = np.where(is_match, distmat * 0.5, 0.5 + distmat * 0.5)
    result = _evaluate_or_none((perfect, q_pids, g_pids, q_cams, g_cams))
    if result is None:
        return
    cmc, aps, inps = result
    np.testing.assert_array_equal(aps, 1.0)
    np.testing.assert_array_equal(inps, 1.0)
    np.testing.assert_array_equal(cmc, 1.0)


# --------------------------------------------------------------------------- edge cases


def test_gallery_smaller_than_max_rank_keeps_last_value():
    # 2 valid queries, gallery of 3. First matches at ranks 2 and 3 -> CMC 0, .5, 1, then stays at 1.
    distmat = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    cmc, aps, _ = evaluate_rank(distmat, [1, 2], [3, 1, 2], [0, 0], [1, 1, 1], max_rank=50)
    assert cmc.shape == (50,) and cmc.dtype == np.float32
    np.testing.assert_array_equal(cmc[:3], [0, 0.5, 1])
    np.testing.assert_array_equal(cmc[3:], 1)
    np.testing.assert_allclose(aps, [1 / 2, 1 / 3])


def test_gallery_smaller_than_max_rank_with_junk_removed():
    # Filtered lists are shorter than the gallery; every valid query's curve ends at 1.
    distmat = np.array([[0.1, 0.2], [0.2, 0.1]])
    cmc, _, _ = evaluate_rank(distmat, [1, 1], [1, 1], [0, 1], [0, 1], max_rank=5)
    np.testing.assert_array_equal(cmc, [1, 1, 1, 1, 1])


def test_no_valid_query_raises():
    with pytest.raises(ValueError, match="no query has a valid match"):
        evaluate_rank(np.array([[0.1, 0.2]]), [1], [1, 2], [0], [0, 0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_distances_raise(bad):
    distmat = np.array([[0.1, 0.2], [0.3, bad]])
    with pytest.raises(ValueError, match="distmat contains NaN or inf"):
        evaluate_rank(distmat, [1, 2], [1, 2], [0, 0], [1, 1])


def test_huge_finite_distances_are_fine():
    # The cheap finite check sums a chunk; an overflowing sum of finite values must not raise.
    distmat = np.array([[3e38, 3e38, 1.0]], dtype=np.float32)
    _, aps, _ = evaluate_rank(distmat, [1], [2, 2, 1], [0], [1, 1, 1])
    assert aps[0] == 1.0


def test_empty_query_set_raises():
    with pytest.raises(ValueError, match="query set is empty"):
        evaluate_rank(np.zeros((0, 3)), [], [1, 2, 3], [], [0, 0, 0])


def test_empty_gallery_raises():
    with pytest.raises(ValueError, match="gallery is empty"):
        evaluate_rank(np.zeros((2, 0)), [1, 2], [], [0, 0], [])


@pytest.mark.parametrize(
    "which, message",
    [
        ("q_pids", "q_pids has 5 entries but distmat has 6 rows"),
        ("q_camids", "q_camids has 5 entries but distmat has 6 rows"),
        ("g_pids", "g_pids has 3 entries but distmat has 4 columns"),
        ("g_camids", "g_camids has 3 entries but distmat has 4 columns"),
    ],
)
def test_mismatched_lengths_name_the_argument(which, message):
    args = {
        "q_pids": np.arange(6),
        "g_pids": np.arange(4),
        "q_camids": np.zeros(6, int),
        "g_camids": np.ones(4, int),
    }
    args[which] = args[which][:-1]
    with pytest.raises(ValueError, match=message):
        evaluate_rank(np.zeros((6, 4)), args["q_pids"], args["g_pids"], args["q_camids"], args["g_camids"])


def test_bad_arguments_raise():
    distmat = np.array([[0.1, 0.2]])
    with pytest.raises(ValueError, match="distmat must be 2-D"):
        evaluate_rank(np.array([0.1, 0.2]), [1], [1, 2], [0], [1, 1])
    with pytest.raises(ValueError, match="max_rank must be a positive integer"):
        evaluate_rank(distmat, [1], [1, 2], [0], [1, 1], max_rank=0)
    with pytest.raises(ValueError, match="q_pids must hold integers"):
        evaluate_rank(distmat, ["a"], [1, 2], [0], [1, 1])
    with pytest.raises(ValueError, match="use_metric_cuhk03"):
        evaluate_rank(distmat, [1], [1, 2], [0], [1, 1], use_metric_cuhk03=True)
    # fast-reid's extra keyword is accepted and ignored
    evaluate_rank(distmat, [1], [1, 2], [0], [1, 1], use_cython=False)
