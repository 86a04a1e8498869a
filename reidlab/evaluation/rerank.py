"""k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with
k-reciprocal Encoding", CVPR 2017), on CPU, without faiss.

Same inputs and numbers as the standard implementation (the authors' code, used by
torchreid): ``re_ranking(q_g_dist, q_q_dist, g_g_dist, k1, k2, lambda_value)``. Like it,
the distances are squared, each column is divided by its maximum, and the final distance
is ``(1 - lambda) * jaccard + lambda * that normalised distance``. Values agree with it
to float32 rounding (about 1e-7; sums are taken in a different order); neighbour lists
follow a stable argsort (ties by index), which the reference leaves unspecified.

Vectorised where the reference loops in Python: neighbour lists come from a top-k per
row, reciprocity and expansion tests are batched, the encoding V is kept sparse (CSR),
and the Jaccard distance accumulates over an inverted index in bounded batches.

Memory (N = num_query + num_gallery): one dense N x N float32 matrix (the normalised
distances; 1.5 GB for Market-1501's 19281 images) on top of the caller's three inputs
(1.3 GB more for Market in float32), transient squared copies of the query-gallery block
while it is built, the sparse encodings (at most (k1+1)(round(k1/2)+2) entries per row
before query expansion, k2 times that after), and bounded scratch. The reference holds
about five dense N x N arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._checks import check_positive_int
from .rerank_parts import ROW_BLOCK as _ROW_BLOCK
from .rerank_parts import encode, is_reciprocal, jaccard_blocks, query_expansion, smallest_k_stable


def re_ranking(
    q_g_dist: Any,
    q_q_dist: Any,
    g_g_dist: Any,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> np.ndarray:
    """Re-ranked (num_query, num_gallery) float32 distances.

    Args:
        q_g_dist, q_q_dist, g_g_dist: query-gallery, query-query and gallery-gallery
            distances (numpy arrays or torch tensors, finite). They are squared, as in the
            reference, so pass plain (not squared) Euclidean or cosine distances.
        k1: size of the k-reciprocal neighbourhood. k2: neighbours averaged in the local
            query expansion (1 disables it). lambda_value: weight of the original distance.
    """
    k1 = check_positive_int("k1", k1)
    k2 = check_positive_int("k2", k2)
    if not 0.0 <= float(lambda_value) <= 1.0:
        raise ValueError(f"lambda_value must be in [0, 1], got {lambda_value!r}")
    q_g = _as_tensor("q_g_dist", q_g_dist)
    q_q = _as_tensor("q_q_dist", q_q_dist)
    g_g = _as_tensor("g_g_dist", g_g_dist)
    num_q, num_g = q_g.shape
    if q_q.shape != (num_q, num_q):
        raise ValueError(f"q_q_dist has shape {tuple(q_q.shape)} but q_g_dist has {num_q} rows")
    if g_g.shape != (num_g, num_g):
        raise ValueError(f"g_g_dist has shape {tuple(g_g.shape)} but q_g_dist has {num_g} columns")

    dist = _normalised_distances(q_g, q_q, g_g)
    num = dist.shape[0]
    half = int(np.around(k1 / 2.0))
    near = smallest_k_stable(dist, min(max(k1 + 1, k2), num))
    forward = near[:, : min(k1 + 1, num)]
    forward_half = near[:, : min(half + 1, num)]
    reciprocal = is_reciprocal(forward)
    reciprocal_half = is_reciprocal(forward_half)

    encoding = encode(lambda rows, cols: dist[rows, cols], forward, reciprocal, forward_half, reciprocal_half)
    if k2 != 1:
        encoding = query_expansion(encoding, near[:, : min(k2, num)], num)
    lam = float(lambda_value)
    final = torch.empty(num_q, num - num_q, dtype=torch.float32)
    for start, stop, jaccard in jaccard_blocks(encoding, num_q, num):
        final[start:stop] = jaccard * (1 - lam) + dist[start:stop, num_q:] * lam
    return final.numpy()


def _as_tensor(name: str, values: Any) -> torch.Tensor:
    tensor = torch.as_tensor(values).detach().cpu()
    if tensor.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty")
    if not tensor.is_floating_point():
        tensor = tensor.double()
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return tensor


def _normalised_distances(q_g: torch.Tensor, q_q: torch.Tensor, g_g: torch.Tensor) -> torch.Tensor:
    """The reference's ``original_dist``: squared distances of all N images, column i divided
    by its maximum, transposed (so row i is column i). One N x N float32 allocation."""
    num_q = q_q.shape[0]
    num = num_q + g_g.shape[0]
    dtype = torch.promote_types(torch.promote_types(q_g.dtype, q_q.dtype), g_g.dtype)
    full = torch.empty(num, num, dtype=torch.float32)
    full[:num_q, :num_q] = q_q.to(dtype).pow(2)
    full[:num_q, num_q:] = q_g.to(dtype).pow(2)
    full[num_q:, :num_q] = q_g.t().to(dtype).pow(2)
    for start in range(0, g_g.shape[0], _ROW_BLOCK):
        block = g_g[start : start + _ROW_BLOCK].to(dtype).pow(2)
        full[num_q + start : num_q + start + block.shape[0], num_q:] = block
    col_max = full.max(dim=0).values
    _transpose_in_place(full)
    full /= col_max[:, None]
    return full


def _transpose_in_place(square: torch.Tensor) -> None:
    """Transpose a square matrix block by block, without a second full-size copy."""
    num = square.shape[0]
    for a in range(0, num, _ROW_BLOCK):
        rows = slice(a, min(a + _ROW_BLOCK, num))
        square[rows, rows] = square[rows, rows].t().clone()
        for b in range(a + _ROW_BLOCK, num, _ROW_BLOCK):
            cols = slice(b, min(b + _ROW_BLOCK, num))
            upper = square[rows, cols].clone()
            square[rows, cols] = square[cols, rows].t()
            square[cols, rows] = upper.t()


