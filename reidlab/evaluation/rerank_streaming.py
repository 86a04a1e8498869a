"""k-reciprocal re-ranking from features in bounded memory, one block of query rows at a time.

The dense entry point (rerank.py) needs the query-gallery, query-query and gallery-gallery
distance matrices and one more N x N matrix: (q+g)^2 float32 is 35 GB at MSMT17 size. Here
nothing N x N exists. One blocked pass over the features finds each image's nearest
max(k1 + 1, k2) neighbours (stable ties, as the dense path) and the maximum of its squared
distances (the reference divides by it); the encoding V and the expansion are sparse; the
distances V needs are computed for the listed pairs only; the Jaccard distance and the
original distance come out one block of queries at a time, for the caller to rank and drop.

Peak memory: the features, one (block rows x N) distance block (about 64 MB), the neighbour
lists, and the sparse encodings (at most k2 (k1+1)(round(k1/2)+2) entries per image).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import check_positive_int
from .distance import GalleryDistance, check_metric
from .rerank_parts import encode, is_reciprocal, jaccard_blocks, query_expansion, smallest_k_stable

_BLOCK_ENTRIES = 16_000_000  # distance entries per block of rows: 64 MB of float32


def iter_reranked_rows(
    query_feats: torch.Tensor,
    gallery_feats: torch.Tensor,
    metric: str = "cosine",
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    block_rows: int | None = None,
) -> Iterator[torch.Tensor]:
    """The re-ranked (num_query, num_gallery) distances, a block of query rows at a time, in order.

    The numbers are rerank.re_ranking's on the distances of these features (to float32 rounding).
    """
    check_metric(metric)
    k1, k2 = check_positive_int("k1", k1), check_positive_int("k2", k2)
    if not 0.0 <= float(lambda_value) <= 1.0:
        raise ValueError(f"lambda_value must be in [0, 1], got {lambda_value!r}")
    features = torch.cat((query_feats, gallery_feats)).detach().float().cpu()
    if metric == "cosine":
        features = F.normalize(features, dim=1)
    num_q, num = query_feats.shape[0], features.shape[0]
    rows = block_rows or max(1, _BLOCK_ENTRIES // num)
    near, row_max = _neighbours_and_row_max(features, metric, min(max(k1 + 1, k2), num), rows)
    half = int(np.around(k1 / 2.0))
    forward, forward_half = near[:, : min(k1 + 1, num)], near[:, : min(half + 1, num)]

    def distance_of(row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        return _squared_pair_distance(features[row], features[col], metric) / row_max[row]

    encoding = encode(distance_of, forward, is_reciprocal(forward), forward_half, is_reciprocal(forward_half))
    if k2 != 1:
        encoding = query_expansion(encoding, near[:, : min(k2, num)], num, block=rows)
    gallery = GalleryDistance(features[num_q:], "euclidean" if metric == "euclidean" else "cosine")
    lam = float(lambda_value)
    for start, stop, jaccard in jaccard_blocks(encoding, num_q, num):
        original = gallery(features[start:stop]).pow_(2).div_(row_max[start:stop, None])
        yield jaccard * (1 - lam) + original * lam


def _neighbours_and_row_max(features: torch.Tensor, metric: str, k: int, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's k nearest images (itself first, ties by index) and the largest of its squared distances."""
    everyone = GalleryDistance(features, metric)
    near = torch.empty(features.shape[0], k, dtype=torch.int64)
    row_max = torch.empty(features.shape[0], dtype=torch.float32)
    for start in range(0, features.shape[0], rows):
        squared = everyone(features[start : start + rows]).pow_(2)
        row_max[start : start + squared.shape[0]] = squared.max(dim=1).values
        near[start : start + squared.shape[0]] = smallest_k_stable(squared, k)
    return near, row_max.clamp_(min=torch.finfo(torch.float32).tiny)


def _squared_pair_distance(a: torch.Tensor, b: torch.Tensor, metric: str) -> torch.Tensor:
    if metric == "cosine":
        return (1.0 - (a * b).sum(dim=1)).pow(2)
    return (a.pow(2).sum(1) + b.pow(2).sum(1) - 2 * (a * b).sum(1)).clamp(min=0.0)
