"""Features in, metrics out: the entry point the training engine calls after extraction.

Distances are computed and consumed one chunk of queries at a time, so peak memory is a few
(chunk_rows x num_gallery) blocks instead of the full matrix plus a full argsort; re-ranking
too (rerank_streaming.py), with sparse k-nearest lists in place of N x N matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._checks import check_features, check_positive_int, checked_labels
from .distance import check_metric, iter_distance_chunks
from .per_query import PerQueryResult
from .query_expansion import alpha_query_expansion
from .rank import PerQueryCollector, check_finite, default_chunk_rows, per_query_from_distmat, require_valid_queries
from .rerank_streaming import iter_reranked_rows


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Summary metrics of one evaluation plus the per-query results behind them.

    All metrics are fractions in [0, 1] (fast-reid reports them x100).
    """

    mAP: float
    mINP: float
    cmc: np.ndarray  # float32 (max_rank,): cmc[k-1] = rank-k accuracy
    per_query: PerQueryResult

    @classmethod
    def from_per_query(cls, per_query: PerQueryResult, max_rank: int = 50) -> "EvaluationResult":
        """Summarise ``per_query``; raises ``ValueError`` if no query is valid."""
        require_valid_queries(per_query)
        return cls(mAP=per_query.mAP, mINP=per_query.mINP, cmc=per_query.cmc(max_rank), per_query=per_query)

    def rank(self, k: int) -> float:
        """Rank-k accuracy, for any k >= 1 (not limited to ``len(cmc)``)."""
        return self.per_query.rank(k)

    @property
    def rank1(self) -> float:
        return self.rank(1)

    @property
    def rank5(self) -> float:
        return self.rank(5)

    @property
    def rank10(self) -> float:
        return self.rank(10)

    def summary(self) -> dict[str, float]:
        """{"mAP", "rank1", "rank5", "rank10", "mINP"} as Python floats in [0, 1]."""
        return {
            "mAP": float(self.mAP),
            "rank1": self.rank1,
            "rank5": self.rank5,
            "rank10": self.rank10,
            "mINP": float(self.mINP),
        }


def evaluate_distmat(
    distmat: Any, q_pids: Any, g_pids: Any, q_camids: Any, g_camids: Any, max_rank: int = 50
) -> EvaluationResult:
    """``EvaluationResult`` of a precomputed (num_query, num_gallery) distance matrix."""
    max_rank = check_positive_int("max_rank", max_rank)
    per_query = per_query_from_distmat(distmat, q_pids, g_pids, q_camids, g_camids)
    return EvaluationResult.from_per_query(per_query, max_rank)


def evaluate_features(
    query_feats: torch.Tensor,
    gallery_feats: torch.Tensor,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    *,
    metric: str = "cosine",
    max_rank: int = 50,
    rerank: bool = False,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    aqe: tuple[int, int, float] | None = None,
    chunk_rows: int | None = None,
) -> EvaluationResult:
    """Evaluate query against gallery features under the Market-1501 protocol.

    Args:
        query_feats, gallery_feats: (num_query, D) and (num_gallery, D) features; the work
            runs on their device (CPU or an accelerator).
        q_pids, g_pids, q_camids, g_camids: 1-D integer labels.
        metric: "cosine" (1 - cos of L2-normalised features) or "euclidean".
        max_rank: length of ``cmc``.
        rerank: apply k-reciprocal re-ranking (k1, k2, lambda_value), streamed from the
            features in query blocks with sparse neighbour lists (rerank_streaming.py): no
            N x N matrix, N = num_query + num_gallery, is ever built.
        aqe: (times, k, alpha) of alpha query expansion before the distances (fast-reid's
            TEST.AQE), or None for none.
        chunk_rows: queries per chunk (default: about 8M distance entries, a 32 MB float32
            block; fewer, larger chunks keep the per-operation overhead low).

    Raises:
        ValueError: bad shapes or lengths, NaN/inf features, unknown metric, no valid query.
    """
    check_metric(metric)
    max_rank = check_positive_int("max_rank", max_rank)
    query, gallery = _checked_features(query_feats, gallery_feats)
    num_q, num_g = query.shape[0], gallery.shape[0]
    q_p, g_p, q_c, g_c = checked_labels(
        q_pids, g_pids, q_camids, g_camids, num_q, num_g, f"query_feats has {num_q} rows", f"gallery_feats has {num_g} rows"
    )

    if aqe is not None:
        query, gallery = alpha_query_expansion(query, gallery, *aqe)
    rows = check_positive_int("chunk_rows", chunk_rows) if chunk_rows is not None else default_chunk_rows(num_g)
    if rerank:
        blocks = iter_reranked_rows(query, gallery, metric, k1, k2, lambda_value, block_rows=chunk_rows)
        collector = PerQueryCollector(q_p, q_c, g_p, g_c, torch.device("cpu"))
    else:
        blocks = iter_distance_chunks(query, gallery, metric, rows)
        collector = PerQueryCollector(q_p, q_c, g_p, g_c, gallery.device)
    for dist_rows in blocks:
        check_finite("the distance computed from the features", dist_rows)  # overflow
        collector.add(dist_rows)
    return EvaluationResult.from_per_query(collector.result(), max_rank)


def _checked_features(query_feats: torch.Tensor, gallery_feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both feature matrices, checked finite, 2-D and of one dimension."""
    query = check_features("query_feats", query_feats)
    gallery = check_features("gallery_feats", gallery_feats)
    if query.shape[1] != gallery.shape[1]:
        raise ValueError(f"query_feats has dimension {query.shape[1]} but gallery_feats has dimension {gallery.shape[1]}")
    return query, gallery
