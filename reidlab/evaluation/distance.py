"""Query-gallery distances from feature vectors, whole or a chunk of queries at a time.

Metrics:
    ``"cosine"`` (default): features are L2-normalised, distance = 1 - cos, in [0, 2]
        (computed as fast-reid's ``compute_cosine_distance``).
    ``"euclidean"``: plain Euclidean distance ||q - g|| (fast-reid returns its square;
        the ranking, and so every metric, is the same).

For Market-1501 the full float32 matrix is 3368 x 15913 x 4 bytes = 214 MB; the chunked
form (``iter_distance_chunks``) holds one (chunk_rows, num_gallery) block at a time.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F

METRICS = ("cosine", "euclidean")


def check_metric(metric: str) -> str:
    """Return ``metric`` if known, else raise ``ValueError`` listing the choices."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    return metric


class GalleryDistance:
    """Distances from any query batch to one fixed gallery, with the gallery prepared once."""

    def __init__(self, gallery_feats: torch.Tensor, metric: str = "cosine") -> None:
        self.metric = check_metric(metric)
        gallery = gallery_feats.detach().float()
        if metric == "cosine":
            gallery = F.normalize(gallery, dim=1)
        else:
            self._gallery_sq = gallery.pow(2).sum(1)
        self._gallery = gallery  # (G, D); used transposed as a view, no copy

    @property
    def num_gallery(self) -> int:
        return self._gallery.shape[0]

    @property
    def device(self) -> torch.device:
        return self._gallery.device

    def __call__(self, query_feats: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """(num_query, num_gallery) float32 distances; written into ``out`` when given."""
        query = query_feats.detach().float().to(self._gallery.device)
        if self.metric == "cosine":
            dist = torch.mm(F.normalize(query, dim=1), self._gallery.t(), out=out)
            return dist.neg_().add_(1.0)
        dist = torch.mm(query, self._gallery.t(), out=out)
        dist.mul_(-2.0).add_(query.pow(2).sum(1)[:, None]).add_(self._gallery_sq[None, :])
        return dist.clamp_(min=0.0).sqrt_()


def compute_distance(query_feats: torch.Tensor, gallery_feats: torch.Tensor, metric: str = "cosine") -> torch.Tensor:
    """Full (num_query, num_gallery) float32 distance matrix (see the module docstring)."""
    return GalleryDistance(gallery_feats, metric)(query_feats)


def iter_distance_chunks(
    query_feats: torch.Tensor, gallery_feats: torch.Tensor, metric: str = "cosine", chunk_rows: int = 128
) -> Iterator[torch.Tensor]:
    """Yield the distance matrix ``chunk_rows`` query rows at a time.

    The yielded tensor is a reused buffer: consume it before asking for the next chunk.
    """
    distance = GalleryDistance(gallery_feats, metric)
    num_q = query_feats.shape[0]
    buffer = torch.empty(
        min(chunk_rows, num_q), distance.num_gallery, dtype=torch.float32, device=distance.device
    )
    for start in range(0, num_q, chunk_rows):
        stop = min(start + chunk_rows, num_q)
        yield distance(query_feats[start:stop], out=buffer[: stop - start])
