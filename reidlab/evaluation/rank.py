"""CMC, mAP and mINP from a distance matrix (Market-1501 protocol), fast-reid compatible.

``evaluate_rank`` takes the same arguments and returns the same values as fast-reid's
``fastreid.evaluation.rank.evaluate_rank`` (and torchreid's ``eval_market1501``):

* for each query, gallery entries with the query's pid *and* camera are dropped;
* a query with no remaining match is skipped (not valid);
* AP is non-interpolated over the whole ranked list; INP = matches / rank of the last match;
* CMC is the cumulative hit, clipped at 1, averaged over valid queries.

Numbers equal the peers' whenever a row has no ties between a match and a non-match (AP
to float64 rounding, about 1e-16; CMC and INP bit for bit). Ties are ordered by gallery
index (as a stable argsort would); the peers' default argsort leaves them unspecified.

Where the peers go wrong, this module is defined instead:

* a gallery smaller than ``max_rank``: the CMC still has ``max_rank`` entries and stays at
  its last value beyond the gallery (fast-reid's Python path crashes, its Cython path
  returns stale values);
* no valid query at all: ``ValueError`` (the peers fail an assert);
* NaN/inf distances, an empty query set, or labels of the wrong length: ``ValueError``
  naming the argument.

Queries are processed in chunks (see match_ranks.py for the algorithm). Beyond the
distance matrix itself, memory held is a boolean mask of one chunk, the chunk's block
minima (1/32 of it) and a bounded batch of candidates: never a full argsort.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._checks import check_positive_int, checked_labels
from .match_ranks import MatchRanker
from .per_query import PerQueryResult

#: Default number of distance-matrix entries per chunk of queries (rows = this // gallery size).
DEFAULT_CHUNK_ENTRIES = 1 << 23


def default_chunk_rows(num_gallery: int) -> int:
    """Rows per query chunk for a gallery of ``num_gallery`` entries."""
    return max(1, DEFAULT_CHUNK_ENTRIES // max(1, num_gallery))


class PerQueryCollector:
    """Builds a ``PerQueryResult`` from distance rows fed chunk by chunk, in query order."""

    def __init__(
        self,
        q_pids: np.ndarray,
        q_camids: np.ndarray,
        g_pids: np.ndarray,
        g_camids: np.ndarray,
        device: torch.device | str = "cpu",
    ) -> None:
        num_q = len(q_pids)
        self.q_pids, self.q_camids = q_pids, q_camids
        self.ranker = MatchRanker(g_pids, g_camids, device)
        self._q_pids_t = torch.as_tensor(q_pids, dtype=torch.int64, device=self.ranker.device)
        self._q_camids_t = torch.as_tensor(q_camids, dtype=torch.int64, device=self.ranker.device)
        self._ap = np.full(num_q, np.nan)
        self._inp = np.full(num_q, np.nan)
        self._first = np.full(num_q, -1, dtype=np.int64)
        self._num_matches = np.zeros(num_q, dtype=np.int64)
        self._next = 0

    def add(self, dist_rows: torch.Tensor) -> None:
        """Consume the distances of the next ``len(dist_rows)`` queries (finite, contiguous)."""
        start, stop = self._next, self._next + dist_rows.shape[0]
        if stop > len(self.q_pids):
            raise ValueError(f"got distances for {stop} queries but there are {len(self.q_pids)}")
        ranks, num_matches = self.ranker.ranks(dist_rows, self._q_pids_t[start:stop], self._q_camids_t[start:stop])
        valid = num_matches > 0
        if ranks.shape[1]:
            ranks_f = ranks.double()
            ordinal = torch.arange(1, ranks.shape[1] + 1, dtype=torch.float64, device=ranks.device)
            precision = torch.where(ranks > 0, ordinal[None, :] / ranks_f, 0.0)
            matches_f = num_matches.double()
            ap = precision.sum(1) / matches_f
            last = ranks_f.gather(1, (num_matches - 1).clamp(min=0)[:, None])[:, 0]
            inp = matches_f / last
            nan = torch.tensor(float("nan"), dtype=torch.float64, device=ranks.device)
            self._ap[start:stop] = torch.where(valid, ap, nan).cpu().numpy()
            self._inp[start:stop] = torch.where(valid, inp, nan).cpu().numpy()
            self._first[start:stop] = torch.where(valid, ranks[:, 0], -1).cpu().numpy()
        self._num_matches[start:stop] = num_matches.cpu().numpy()
        self._next = stop

    def result(self) -> PerQueryResult:
        if self._next != len(self.q_pids):
            raise RuntimeError(f"collected {self._next} of {len(self.q_pids)} queries")
        return PerQueryResult(
            query_index=np.arange(len(self.q_pids), dtype=np.int64),
            pid=self.q_pids.copy(),
            camid=self.q_camids.copy(),
            valid=self._num_matches > 0,
            ap=self._ap,
            inp=self._inp,
            first_match_rank=self._first,
            num_matches=self._num_matches,
        )


def check_finite(name: str, values: torch.Tensor) -> None:
    """Raise ``ValueError`` if ``values`` holds NaN or inf (a cheap sum first, exact check on doubt)."""
    if not values.is_floating_point() or values.numel() == 0:
        return
    if bool(torch.isfinite(values.sum())):
        return
    if not bool(torch.isfinite(values).all()):  # the sum may also overflow on finite values
        raise ValueError(f"{name} contains NaN or inf")


def _as_matrix(distmat: Any) -> np.ndarray | torch.Tensor:
    if isinstance(distmat, torch.Tensor):
        matrix: np.ndarray | torch.Tensor = distmat.detach()
    else:
        matrix = np.asarray(distmat)
        if not matrix.dtype.isnative:
            matrix = matrix.astype(matrix.dtype.newbyteorder("="))
    if matrix.ndim != 2:
        raise ValueError(f"distmat must be 2-D (num_query, num_gallery), got shape {tuple(matrix.shape)}")
    if matrix.shape[0] == 0:
        raise ValueError("distmat has no rows: the query set is empty")
    if matrix.shape[1] == 0:
        raise ValueError("distmat has no columns: the gallery is empty")
    return matrix


def _rows(matrix: np.ndarray | torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Rows ``start:stop`` as a contiguous float32/float64 tensor (a view when possible)."""
    if isinstance(matrix, torch.Tensor):
        rows = matrix[start:stop]
    else:
        rows = torch.from_numpy(np.ascontiguousarray(matrix[start:stop]))
    if rows.dtype not in (torch.float32, torch.float64):
        rows = rows.to(torch.float32 if rows.dtype in (torch.float16, torch.bfloat16) else torch.float64)
    return rows.contiguous()


def per_query_from_distmat(
    distmat: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    *,
    chunk_rows: int | None = None,
) -> PerQueryResult:
    """Per-query AP, INP and first-match rank from a (num_query, num_gallery) distance matrix.

    ``distmat`` may be a numpy array or a torch tensor (processed on its device). Labels are
    1-D integer sequences. See the module docstring for the protocol and the tie rule.
    """
    matrix = _as_matrix(distmat)
    num_q, num_g = matrix.shape
    q_p, g_p, q_c, g_c = checked_labels(
        q_pids, g_pids, q_camids, g_camids, num_q, num_g, f"distmat has {num_q} rows", f"distmat has {num_g} columns"
    )
    rows = check_positive_int("chunk_rows", chunk_rows) if chunk_rows is not None else default_chunk_rows(num_g)
    device = matrix.device if isinstance(matrix, torch.Tensor) else torch.device("cpu")
    collector = PerQueryCollector(q_p, q_c, g_p, g_c, device)
    for start in range(0, num_q, rows):
        chunk = _rows(matrix, start, min(start + rows, num_q))
        check_finite("distmat", chunk)
        collector.add(chunk)
    return collector.result()


def require_valid_queries(per_query: PerQueryResult) -> None:
    """Raise ``ValueError`` when no query has a valid match (the metrics are undefined)."""
    if per_query.num_valid == 0:
        raise ValueError(
            "no query has a valid match in the gallery (a gallery entry with the query's pid "
            "and a different camera): mAP/CMC are undefined"
        )


def evaluate_rank(
    distmat: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    max_rank: int = 50,
    use_metric_cuhk03: bool = False,
    use_cython: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Market-1501 evaluation of a distance matrix; a drop-in for fast-reid's ``evaluate_rank``.

    Args:
        distmat: (num_query, num_gallery) distances, numpy array or torch tensor; smaller is closer.
        q_pids, g_pids: 1-D person ids of queries and gallery entries.
        q_camids, g_camids: 1-D camera ids.
        max_rank: length of the returned CMC curve.
        use_metric_cuhk03: accepted for compatibility; only ``False`` is supported.
        use_cython: accepted for compatibility and ignored (there is no compiled code).

    Returns:
        cmc: float32 array of length ``max_rank``; stays at its last value beyond the gallery.
        all_AP: float64 array, AP of each valid query, in query order (``mAP = all_AP.mean()``).
        all_INP: float64 array, INP of each valid query (``mINP = all_INP.mean()``).

    Raises:
        ValueError: bad shapes or lengths, NaN/inf distances, or no valid query at all.
    """
    del use_cython
    if use_metric_cuhk03:
        raise ValueError("use_metric_cuhk03=True (CUHK03 single-shot sampling) is not supported")
    max_rank = check_positive_int("max_rank", max_rank)
    per_query = per_query_from_distmat(distmat, q_pids, g_pids, q_camids, g_camids)
    require_valid_queries(per_query)
    return per_query.cmc(max_rank), per_query.ap[per_query.valid], per_query.inp[per_query.valid]
