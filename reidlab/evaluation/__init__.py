"""reidlab.evaluation: ReID retrieval metrics (numpy/torch, PIL for pictures; nothing else of ours).

* ``evaluate_rank``: fast-reid-compatible CMC / per-query AP / per-query INP from a
  distance matrix (Market-1501 protocol), vectorised without a full argsort.
* ``evaluate_features``: features in, ``EvaluationResult`` out (cosine or euclidean,
  chunked over queries, optional k-reciprocal re-ranking).
* ``PerQueryResult``: per-query AP / rank-1 / INP kept for query-by-query comparison,
  with ``to_arrays`` / ``from_arrays`` for ``np.savez``.
* ``bootstrap_map_ci`` / ``paired_bootstrap_map_diff``: identity-level bootstrap
  interval for one run's mAP and for the difference between two runs.
* ``flip_average`` / ``extract_features``: flip-test feature extraction.
* ``rank_pictures``: rank-list grids framed by ground truth, and the sheet of the worst queries.
"""

from .bootstrap import BootstrapInterval, PairedBootstrapResult, bootstrap_map_ci, paired_bootstrap_map_diff
from .distance import METRICS, compute_distance, iter_distance_chunks
from .evaluator import EvaluationResult, evaluate_distmat, evaluate_features
from .flip import extract_features, flip_average
from .per_query import PerQueryResult
from .query_expansion import alpha_query_expansion
from .rank import evaluate_rank, per_query_from_distmat
from .rerank import re_ranking
from .rerank_streaming import iter_reranked_rows

__all__ = [
    "iter_reranked_rows",
    "alpha_query_expansion",
    "METRICS",
    "BootstrapInterval",
    "EvaluationResult",
    "PairedBootstrapResult",
    "PerQueryResult",
    "bootstrap_map_ci",
    "compute_distance",
    "evaluate_distmat",
    "evaluate_features",
    "evaluate_rank",
    "extract_features",
    "flip_average",
    "iter_distance_chunks",
    "paired_bootstrap_map_diff",
    "per_query_from_distmat",
    "re_ranking",
]
