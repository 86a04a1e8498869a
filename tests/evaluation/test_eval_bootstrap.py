"""Bootstrap interval of one run's mAP and the paired bootstrap of two runs' difference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from reidlab.evaluation import PerQueryResult, bootstrap_map_ci, paired_bootstrap_map_diff


def _run(ap, pids, camids=None, valid=None):
    ap = np.asarray(ap, dtype=np.float64)
    n = len(ap)
    valid = np.ones(n, bool) if valid is None else np.asarray(valid)
    return PerQueryResult(
        query_index=np.arange(n),
        pid=np.asarray(pids),
        camid=np.zeros(n, np.int64) if camids is None else np.asarray(camids),
        valid=valid,
        ap=np.where(valid, ap, np.nan),
        inp=np.where(valid, ap, np.nan),
        first_match_rank=np.where(valid, 1, -1),
        num_matches=valid.astype(np.int64),
    )


def _random_run(seed, n_ids=40, per_id=4, shift=0.0):
    rng = np.random.default_rng(seed)
    pids = np.repeat(np.arange(n_ids), per_id)
    difficulty = np.repeat(rng.random(n_ids), per_id)
    ap = np.clip(difficulty + 0.1 * rng.standard_normal(len(pids)) + shift, 0.01, 1.0)
    return _run(ap, pids)


def test_ci_is_deterministic_and_brackets_the_estimate():
    run = _random_run(0)
    first = bootstrap_map_ci(run, n_resamples=500, seed=3)
    again = bootstrap_map_ci(run, n_resamples=500, seed=3)
    other = bootstrap_map_ci(run, n_resamples=500, seed=4)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)
    assert first.low < first.mAP < first.high
    assert first.mAP == run.mAP and first.n_clusters == 40 and first.by_identity


def test_identity_resampling_is_wider_than_query_resampling_for_correlated_queries():
    # Queries of one identity share its difficulty: treating them as independent understates
    # the uncertainty.
    run = _random_run(1, n_ids=30, per_id=8)
    by_id = bootstrap_map_ci(run, n_resamples=2000, seed=0)
    by_query = bootstrap_map_ci(run, n_resamples=2000, seed=0, by_identity=False)
    assert by_query.n_clusters == 240
    assert by_id.high - by_id.low > 1.5 * (by_query.high - by_query.low)


def test_ci_of_a_single_identity_is_a_point():
    # One identity: every resample draws it, so every resampled mAP is the observed one.
    run = _run([0.2, 0.4, 0.9], [5, 5, 5])
    ci = bootstrap_map_ci(run, n_resamples=50)
    assert ci.low == pytest.approx(0.5) and ci.high == pytest.approx(0.5) and ci.std_error < 1e-12


def test_ci_ignores_invalid_queries_and_checks_arguments():
    run = _run([0.5, 0.7, 0.0], [1, 2, 3], valid=[True, True, False])
    ci = bootstrap_map_ci(run, n_resamples=100)
    assert ci.mAP == pytest.approx(0.6) and ci.n_clusters == 2
    with pytest.raises(ValueError, match="confidence must be in"):
        bootstrap_map_ci(run, confidence=1.0)
    with pytest.raises(ValueError, match="n_resamples must be a positive integer"):
        bootstrap_map_ci(run, n_resamples=0)
    with pytest.raises(ValueError, match="no valid query"):
        bootstrap_map_ci(_run([0.5], [1], valid=[False]))


def test_paired_identical_runs():
    run = _random_run(2)
    result = paired_bootstrap_map_diff(run, run, n_resamples=300)
    assert result.diff == 0.0 and result.low == 0.0 and result.high == 0.0
    assert result.frac_not_better == 1.0 and result.p_value == 1.0 and not result.significant


def test_paired_clear_improvement():
    base = _random_run(3)
    better = dataclasses.replace(base, ap=base.ap + 0.05)
    result = paired_bootstrap_map_diff(base, better, n_resamples=500, seed=1)
    assert result.diff == pytest.approx(0.05)
    assert result.low == pytest.approx(0.05) and result.high == pytest.approx(0.05)
    assert result.frac_not_better == 0.0 and result.p_value == 0.0 and result.significant
    assert result.baseline_mAP == base.mAP and result.candidate_mAP == better.mAP
    reverse = paired_bootstrap_map_diff(better, base, n_resamples=500, seed=1)
    assert reverse.diff == pytest.approx(-0.05) and reverse.frac_not_better == 1.0 and reverse.significant


def test_paired_noise_is_not_significant_and_is_deterministic():
    base = _random_run(4)
    rng = np.random.default_rng(9)
    noisy = dataclasses.replace(base, ap=np.clip(base.ap + 0.02 * rng.standard_normal(len(base.ap)), 0, 1))
    first = paired_bootstrap_map_diff(base, noisy, n_resamples=1000, seed=5, confidence=0.9)
    assert first == paired_bootstrap_map_diff(base, noisy, n_resamples=1000, seed=5, confidence=0.9)
    assert first.low < first.diff < first.high
    assert first.low < 0 < first.high and not first.significant
    assert 0.05 < first.p_value <= 1 and 0 < first.frac_not_better < 1
    assert first.confidence == 0.9 and first.n_clusters == 40


def test_paired_diff_is_identity_weighted_mean_of_query_differences():
    base = _run([0.5, 0.5, 0.5], [1, 1, 2])
    cand = _run([0.8, 0.8, 0.2], [1, 1, 2])
    result = paired_bootstrap_map_diff(base, cand, n_resamples=2000, seed=0)
    # Per-query differences (0.3, 0.3, -0.3): diff = 0.1. Identity 1 contributes 2 queries
    # summing 0.6, identity 2 one query of -0.3. Equally likely draws of 2 identities:
    #   {1,1}: 1.2/4 = 0.3   {1,2}, {2,1}: 0.3/3 = 0.1   {2,2}: -0.6/2 = -0.3
    # so P(diff* <= 0) = 1/4, and the 2.5% / 97.5% percentiles are -0.3 and 0.3.
    assert result.diff == pytest.approx(0.1)
    assert result.frac_not_better == pytest.approx(0.25, abs=0.03)
    assert result.low == pytest.approx(-0.3) and result.high == pytest.approx(0.3)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: _run(r.ap[:-1], r.pid[:-1]), "baseline has 160 queries, candidate has 159"),
        (lambda r: dataclasses.replace(r, pid=r.pid + (np.arange(len(r.pid)) == 7)), "query 7 has pid"),
        (lambda r: dataclasses.replace(r, camid=r.camid + 1), "query 0 has camid"),
        (lambda r: dataclasses.replace(r, valid=np.arange(len(r.pid)) != 3), "query 3 is valid in one run only"),
    ],
)
def test_paired_rejects_different_query_sets(change, message):
    run = _random_run(6)
    with pytest.raises(ValueError, match="different query sets") as err:
        paired_bootstrap_map_diff(run, change(run))
    assert message in str(err.value)
