"""Rank enrolled identities for query embeddings: an identity scores the best similarity of its images.

Similarities are cosine (dot products of unit vectors), summed in float64 and then rounded to
float32. The rounding removes the last-bit noise of summation order (a matrix product sums in
an order that depends on the matrix shapes), so the plain path here and the faiss path
(faiss_index.py), which rescores its candidates with the same functions, give the same
answers, duplicates included. Equal scores go to the identity enrolled first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reidlab.deploy.errors import DeployError

# Query rows per step, so that the (rows x gallery) similarity block stays near 32 MB.
BLOCK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Match:
    """One identity proposed for a query image, with its cosine similarity (-1 to 1)."""

    identity: str
    similarity: float

    def to_dict(self) -> dict[str, object]:
        return {"identity": self.identity, "similarity": self.similarity}


def identity_similarities(queries: np.ndarray, vectors: np.ndarray, labels: np.ndarray, num_identities: int) -> np.ndarray:
    """(Nq, num_identities) float32: for each identity, the highest similarity over its vectors.

    `labels[i]` is the identity index (0 .. num_identities-1) of `vectors[i]`; an identity
    without vectors scores -inf.
    """
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    gallery = vectors[order].astype(np.float64)
    rows = max(1, BLOCK_ELEMENTS // max(1, len(vectors)))
    out = np.full((len(queries), num_identities), -np.inf, dtype=np.float64)
    for start in range(0, len(queries), rows):
        block = queries[start : start + rows].astype(np.float64) @ gallery.T
        out[start : start + rows][:, sorted_labels[starts]] = np.maximum.reduceat(block, starts, axis=1)
    np.clip(out, -1.0, 1.0, out=out, where=np.isfinite(out))  # unit vectors: |cos| <= 1 up to rounding
    return out.astype(np.float32)


def top_identities(scores: np.ndarray, identity_ids: np.ndarray, top_k: int, threshold: float | None) -> list[tuple[int, float]]:
    """The best `top_k` of one query's identity scores (ids ascending), at or above `threshold`: [(id, similarity)]."""
    order = np.argsort(-scores, kind="stable")[:top_k]  # stable: equal scores keep id order
    picked = [(int(identity_ids[i]), float(scores[i])) for i in order]
    return [(i, s) for i, s in picked if np.isfinite(s) and (threshold is None or s >= threshold)]


def check_match_arguments(top_k: int, threshold: float | None) -> None:
    """top_k of at least 1; a threshold, when given, on the cosine scale."""
    if int(top_k) < 1:
        raise DeployError(f"top_k must be at least 1, got {top_k}")
    if threshold is not None and not -1.0 <= float(threshold) <= 1.0:
        raise DeployError(f"threshold is a cosine similarity between -1 and 1, got {threshold}")
