"""Per-query evaluation results, kept so two runs can be compared query by query.

A run's mAP is a mean over queries; whether one run really beats another is a question
about the per-query numbers (see ``bootstrap.py``). ``PerQueryResult`` holds them for
*every* query, valid or not, in query order, and converts to and from a dict of numpy
arrays (``to_arrays`` / ``from_arrays``) that ``np.savez`` can store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ._checks import check_positive_int

#: Version of the array layout written by ``to_arrays``.
FORMAT_VERSION = 1

_FIELDS = ("query_index", "pid", "camid", "valid", "ap", "inp", "first_match_rank", "num_matches")


@dataclass(frozen=True, eq=False)
class PerQueryResult:
    """Metrics of each query, in query order.

    A query is *valid* when at least one gallery entry has its pid and a different camera
    (Market-1501 protocol); invalid queries are skipped by every summary metric.

    Attributes:
        query_index: (Q,) int64 position of the query in the query set.
        pid, camid: (Q,) int64 query identity and camera.
        valid: (Q,) bool.
        ap: (Q,) float64 average precision; NaN for invalid queries.
        inp: (Q,) float64 inverse negative penalty (matches / rank of the last match); NaN if invalid.
        first_match_rank: (Q,) int64 1-based rank of the closest match; -1 if invalid.
        num_matches: (Q,) int64 number of valid matches (same pid, other camera).
    """

    query_index: np.ndarray
    pid: np.ndarray
    camid: np.ndarray
    valid: np.ndarray
    ap: np.ndarray
    inp: np.ndarray
    first_match_rank: np.ndarray
    num_matches: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.pid)
        for name in _FIELDS:
            value = getattr(self, name)
            if np.ndim(value) != 1:
                raise ValueError(f"{name} must be 1-D, got shape {np.shape(value)}")
            if len(value) != n:
                raise ValueError(f"{name} has {len(value)} entries but pid has {n}")

    @property
    def num_queries(self) -> int:
        return len(self.pid)

    @property
    def num_valid(self) -> int:
        return int(self.valid.sum())

    @property
    def rank1(self) -> np.ndarray:
        """(Q,) bool: the closest gallery entry (after filtering) is a match."""
        return self.first_match_rank == 1

    @property
    def mAP(self) -> float:
        """Mean AP over valid queries (NaN when there are none)."""
        return float(np.mean(self.ap[self.valid])) if self.num_valid else float("nan")

    @property
    def mINP(self) -> float:
        """Mean INP over valid queries (NaN when there are none)."""
        return float(np.mean(self.inp[self.valid])) if self.num_valid else float("nan")

    def cmc(self, max_rank: int = 50) -> np.ndarray:
        """CMC curve, float32 of length ``max_rank``: fraction of valid queries whose first
        match ranks within k, for k = 1..max_rank.

        Beyond a query's filtered list the curve simply stays at its last value (each valid
        query has found its match by then), so a gallery smaller than ``max_rank`` is fine.
        Computed as float32(count) / float32(num_valid), bit-identical to fast-reid.
        """
        max_rank = check_positive_int("max_rank", max_rank)
        if self.num_valid == 0:
            raise ValueError("no valid query: CMC is undefined")
        first = self.first_match_rank[self.valid]
        hits = np.bincount(np.minimum(first, max_rank + 1), minlength=max_rank + 2)
        counts = np.cumsum(hits)[1 : max_rank + 1]
        return counts.astype(np.float32) / np.float32(self.num_valid)

    def rank(self, k: int) -> float:
        """Rank-k accuracy (CMC at k) as a Python float in [0, 1]."""
        k = check_positive_int("k", k)
        return float(self.cmc(k)[k - 1])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """A dict of numpy arrays for ``np.savez``; ``rank1`` is included for convenience."""
        arrays = {name: np.asarray(getattr(self, name)) for name in _FIELDS}
        arrays["rank1"] = self.rank1
        arrays["format_version"] = np.asarray(FORMAT_VERSION, dtype=np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any]) -> "PerQueryResult":
        """Rebuild from ``to_arrays`` output (a dict or an ``np.load`` of a .npz file)."""
        missing = [name for name in _FIELDS if name not in arrays]
        if missing:
            raise ValueError(f"per-query arrays lack {', '.join(missing)}")
        version = int(np.asarray(arrays["format_version"])) if "format_version" in arrays else FORMAT_VERSION
        if version > FORMAT_VERSION:
            raise ValueError(
                f"per-query arrays have format_version {version}; this reidlab reads up to {FORMAT_VERSION}"
            )
        return cls(
            query_index=np.asarray(arrays["query_index"], dtype=np.int64),
            pid=np.asarray(arrays["pid"], dtype=np.int64),
            camid=np.asarray(arrays["camid"], dtype=np.int64),
            valid=np.asarray(arrays["valid"], dtype=bool),
            ap=np.asarray(arrays["ap"], dtype=np.float64),
            inp=np.asarray(arrays["inp"], dtype=np.float64),
            first_match_rank=np.asarray(arrays["first_match_rank"], dtype=np.int64),
            num_matches=np.asarray(arrays["num_matches"], dtype=np.int64),
        )
