"""Alpha query expansion (AQE, Radenović et al. 2018), as fast-reid's TEST.AQE applies it before ranking.

Every query and gallery feature becomes the mean of its k nearest features (itself included,
by cosine similarity over query and gallery together), each weighted by similarity^alpha.
fast-reid builds the full (N, N) similarity matrix; here it is built a block of rows at a
time, so memory stays bounded on MSMT17-sized sets. torch has no such operation, hence our own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_BLOCK_ENTRIES = 8_000_000  # similarity entries per block of rows: a 32 MB float32 block


def alpha_query_expansion(
    query: torch.Tensor, gallery: torch.Tensor, times: int = 1, k: int = 5, alpha: float = 3.0, chunk_rows: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The expanded (query, gallery) features, float32, on the features' device."""
    if times < 1 or k < 1:
        raise ValueError(f"query expansion needs times >= 1 and k >= 1, got times={times}, k={k}")
    features = torch.cat((query, gallery)).float()
    total = features.shape[0]
    k = min(k, total)
    rows = chunk_rows or max(1, _BLOCK_ENTRIES // total)
    for _ in range(times):
        unit = F.normalize(features, dim=1)
        expanded = torch.empty_like(features)
        for start in range(0, total, rows):
            similarity, nearest = (unit[start : start + rows] @ unit.T).topk(k, dim=1)
            weights = similarity.pow(alpha).unsqueeze(-1)  # (rows, k, 1)
            expanded[start : start + rows] = (features[nearest] * weights).mean(dim=1)
        features = expanded
    return features[: query.shape[0]], features[query.shape[0] :]
