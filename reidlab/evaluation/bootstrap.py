"""Bootstrap confidence intervals for mAP, and a paired test for the mAP difference of two runs.

Why resample identities rather than queries: a person's queries (several images, several
cameras) succeed or fail together, so they are not independent draws. Treating them as
independent understates the uncertainty. The cluster bootstrap draws identities with
replacement and takes every valid query of each drawn identity; the resampled mAP is the
mean AP over the pooled queries (a ratio of sums, so identities with more queries weigh
more, exactly as in the observed mAP). ``by_identity=False`` resamples single queries.

Percentile intervals; all resampling uses ``numpy.random.default_rng(seed)``, so a seed
gives the same numbers every time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import check_positive_int
from .per_query import PerQueryResult

_DRAWS_PER_BATCH = 1 << 22  # resampled indices held at once


@dataclass(frozen=True)
class BootstrapInterval:
    """Bootstrap confidence interval of one run's mAP (fractions in [0, 1])."""

    mAP: float  # observed
    low: float
    high: float
    std_error: float  # standard deviation of the resampled mAPs
    confidence: float
    n_resamples: int
    n_clusters: int  # identities resampled (queries when by_identity=False)
    by_identity: bool


@dataclass(frozen=True)
class PairedBootstrapResult:
    """Paired bootstrap of ``candidate.mAP - baseline.mAP`` over the same queries.

    ``frac_not_better`` is the fraction of resamples with difference <= 0 (small means the
    candidate is reliably better); ``p_value`` is the two-sided bootstrap p-value
    ``min(1, 2 * min(P[diff* <= 0], P[diff* >= 0]))``.
    """

    diff: float  # observed candidate mAP - baseline mAP
    low: float
    high: float
    frac_not_better: float
    p_value: float
    baseline_mAP: float
    candidate_mAP: float
    confidence: float
    n_resamples: int
    n_clusters: int
    by_identity: bool

    @property
    def significant(self) -> bool:
        """True when the confidence interval excludes 0."""
        return self.low > 0.0 or self.high < 0.0


def bootstrap_map_ci(
    per_query: PerQueryResult,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    by_identity: bool = True,
) -> BootstrapInterval:
    """Percentile bootstrap interval for the mAP of one run (valid queries only)."""
    n_resamples = check_positive_int("n_resamples", n_resamples)
    _check_confidence(confidence)
    valid = per_query.valid
    if not valid.any():
        raise ValueError("per_query has no valid query: mAP is undefined")
    sums, counts = _cluster_sums(per_query.pid[valid], per_query.ap[valid], by_identity)
    resampled = _resampled_means(sums, counts, n_resamples, np.random.default_rng(seed))
    low, high = _percentile_interval(resampled, confidence)
    return BootstrapInterval(
        mAP=per_query.mAP,
        low=low,
        high=high,
        std_error=float(np.std(resampled)),
        confidence=float(confidence),
        n_resamples=n_resamples,
        n_clusters=len(sums),
        by_identity=by_identity,
    )


def paired_bootstrap_map_diff(
    baseline: PerQueryResult,
    candidate: PerQueryResult,
    *,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    seed: int = 0,
    by_identity: bool = True,
) -> PairedBootstrapResult:
    """Paired bootstrap of the mAP difference (candidate - baseline) on the same queries.

    Each resample draws identities (query pids) with replacement and applies the same draw
    to both runs, so per-identity difficulty cancels out.

    Raises:
        ValueError: the runs' query sets differ (length, pids, cameras, query order or
            valid flags), or no query is valid.
    """
    n_resamples = check_positive_int("n_resamples", n_resamples)
    _check_confidence(confidence)
    _check_same_queries(baseline, candidate)
    valid = baseline.valid
    if not valid.any():
        raise ValueError("no valid query in either run: mAP is undefined")
    diff_per_query = candidate.ap[valid] - baseline.ap[valid]
    sums, counts = _cluster_sums(baseline.pid[valid], diff_per_query, by_identity)
    resampled = _resampled_means(sums, counts, n_resamples, np.random.default_rng(seed))
    low, high = _percentile_interval(resampled, confidence)
    not_better = float(np.mean(resampled <= 0.0))
    not_worse = float(np.mean(resampled >= 0.0))
    return PairedBootstrapResult(
        diff=candidate.mAP - baseline.mAP,
        low=low,
        high=high,
        frac_not_better=not_better,
        p_value=min(1.0, 2.0 * min(not_better, not_worse)),
        baseline_mAP=baseline.mAP,
        candidate_mAP=candidate.mAP,
        confidence=float(confidence),
        n_resamples=n_resamples,
        n_clusters=len(sums),
        by_identity=by_identity,
    )


def _check_confidence(confidence: float) -> None:
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _check_same_queries(baseline: PerQueryResult, candidate: PerQueryResult) -> None:
    prefix = "the two runs were evaluated on different query sets"
    if baseline.num_queries != candidate.num_queries:
        raise ValueError(
            f"{prefix}: baseline has {baseline.num_queries} queries, candidate has {candidate.num_queries}"
        )
    for field in ("query_index", "pid", "camid"):
        differ = np.flatnonzero(getattr(baseline, field) != getattr(candidate, field))
        if differ.size:
            i = int(differ[0])
            raise ValueError(
                f"{prefix}: query {i} has {field} {getattr(baseline, field)[i]} in baseline but "
                f"{getattr(candidate, field)[i]} in candidate ({differ.size} queries differ)"
            )
    differ = np.flatnonzero(baseline.valid != candidate.valid)
    if differ.size:
        raise ValueError(
            f"{prefix}: query {int(differ[0])} is valid in one run only (different galleries?)"
        )


def _cluster_sums(pids: np.ndarray, values: np.ndarray, by_identity: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster (sum of values, number of queries); a cluster is a pid or a single query."""
    if not by_identity:
        return values.astype(np.float64), np.ones(len(values))
    _, cluster = np.unique(pids, return_inverse=True)
    return np.bincount(cluster, weights=values), np.bincount(cluster).astype(np.float64)


def _resampled_means(sums: np.ndarray, counts: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Pooled mean of ``n_resamples`` draws of len(sums) clusters with replacement."""
    n = len(sums)
    out = np.empty(n_resamples)
    per_batch = max(1, _DRAWS_PER_BATCH // n)
    for start in range(0, n_resamples, per_batch):
        stop = min(start + per_batch, n_resamples)
        draw = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = sums[draw].sum(axis=1) / counts[draw].sum(axis=1)
    return out


def _percentile_interval(resampled: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - float(confidence)
    low, high = np.quantile(resampled, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
