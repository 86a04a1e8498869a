"""Optional faiss search for large galleries: find candidate identities fast, then let matching.py rescore them.

faiss (pip install faiss-cpu) searches an exact inner-product index (IndexFlatIP) for each
query's nearest gallery vectors. Its float32 scores can differ from the plain path's float64
ones in the last digits, so it only proposes candidates: the search widens until the
candidates provably hold every identity the plain path could rank in the top k, and the
final scores and order come from matching.py. The answers are therefore the plain path's.
"""

from __future__ import annotations

import numpy as np

try:
    import faiss
except ImportError:  # optional dependency
    faiss = None

# Larger than any float32 rounding of a unit-vector dot product, so that a candidate scored
# above (k-th score + margin) by faiss is truly above every vector faiss left out.
SCORE_MARGIN = 1e-4
WIDEN_FACTOR = 4


def faiss_available() -> bool:
    return faiss is not None


class FaissCandidateIndex:
    """An exact inner-product faiss index over a gallery's unit vectors."""

    def __init__(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        if faiss is None:
            raise ImportError("faiss is not installed (pip install faiss-cpu)")
        self.labels = labels
        self.size = len(vectors)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.max_per_identity = int(np.bincount(labels).max()) if len(labels) else 0

    def candidate_identities(self, queries: np.ndarray, top_k: int, threshold: float | None) -> list[np.ndarray]:
        """For each query, sorted identity ids that surely include its plain-path top_k (above threshold)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        candidates: list[np.ndarray | None] = [None] * len(queries)
        pending = np.arange(len(queries))
        k = min(self.size, top_k * self.max_per_identity + 16)
        while len(pending):
            scores, rows = self.index.search(queries[pending], k)
            unresolved = []
            for query, query_scores, query_rows in zip(pending, scores, rows):
                found = query_rows >= 0
                if k >= self.size or self._complete(query_scores[found], query_rows[found], top_k, threshold):
                    candidates[query] = np.unique(self.labels[query_rows[found]])
                else:
                    unresolved.append(query)
            pending = np.asarray(unresolved, dtype=np.int64)
            k = min(self.size, k * WIDEN_FACTOR)
        return [c if c is not None else np.zeros(0, dtype=np.int64) for c in candidates]

    def _complete(self, scores: np.ndarray, rows: np.ndarray, top_k: int, threshold: float | None) -> bool:
        """True when no vector beyond the k searched can change this query's top_k identities."""
        if len(scores) == 0:
            return False
        bound = float(scores[-1]) + SCORE_MARGIN  # everything not returned scores at most this
        if threshold is not None and bound < threshold:
            return True
        surely_above = np.unique(self.labels[rows[scores > bound]])
        return len(surely_above) >= top_k
