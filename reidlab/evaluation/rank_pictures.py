"""Rank-list pictures: a query, then its top-K gallery images, each framed by what it is.

Frames: green a true match (same identity, another camera), red a wrong identity, grey a
same-camera image of the same identity (the Market-1501 protocol drops it). Text is drawn with
PIL's built-in bitmap font, so no font file is needed or fetched. `reidlab visualize` and the
TensorBoard image of the worst queries at each new best epoch both draw with this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps

from .distance import iter_distance_chunks
from .per_query import PerQueryResult

TRUE_MATCH, WRONG, DROPPED, QUERY = (0, 170, 0), (220, 0, 0), (150, 150, 150), (0, 0, 0)
TILE_W, TILE_H, FRAME, GAP, TEXT_H, HEADER_H = 64, 128, 4, 6, 26, 16


@dataclass(frozen=True)
class Tile:
    """Where one gallery image sits in a grid and why its frame has its colour."""

    left: int
    top: int
    colour: tuple[int, int, int]
    gallery_index: int


def frame_colour(query_pid: int, query_cam: int, pid: int, cam: int) -> tuple[int, int, int]:
    if pid != query_pid:
        return WRONG
    return DROPPED if cam == query_cam else TRUE_MATCH


def query_grid(paths: list, pids: np.ndarray, cams: np.ndarray, num_query: int, query: int, top: np.ndarray, distances: np.ndarray, title: str) -> tuple[Image.Image, list[Tile]]:
    """The picture of one query's rank list, and where each gallery tile is (for tests and reports)."""
    count = len(top) + 1
    width = count * (TILE_W + 2 * FRAME) + (count + 1) * GAP
    height = HEADER_H + TILE_H + 2 * FRAME + TEXT_H + 2 * GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP, 2), title, fill=(0, 0, 0))
    qpid, qcam = int(pids[query]), int(cams[query])
    _paste(canvas, draw, paths[query], GAP, HEADER_H + GAP, QUERY, ["query", f"id {qpid} cam {qcam}"])
    tiles = []
    for rank, (index, distance) in enumerate(zip(top, distances), start=1):
        position = num_query + int(index)
        pid, cam = int(pids[position]), int(cams[position])
        left = GAP + rank * (TILE_W + 2 * FRAME + GAP)
        colour = frame_colour(qpid, qcam, pid, cam)
        _paste(canvas, draw, paths[position], left, HEADER_H + GAP, colour, [f"#{rank} {distance:.3f}", f"id {pid} cam {cam}"])
        tiles.append(Tile(left, HEADER_H + GAP, colour, int(index)))
    return canvas, tiles


def worst_queries(per_query: PerQueryResult) -> list[int]:
    """Valid queries by AP, lowest first; ties: the later first true match first."""
    valid = np.flatnonzero(per_query.valid)
    order = np.lexsort((-per_query.first_match_rank[valid], per_query.ap[valid]))
    return [int(per_query.query_index[valid[i]]) for i in order]


def query_title(per_query: PerQueryResult, pids: np.ndarray, cams: np.ndarray, query: int) -> str:
    """One line over a rank list: who the query is, its AP and where its first true match came."""
    row = int(np.flatnonzero(per_query.query_index == query)[0])
    first = int(per_query.first_match_rank[row])
    return f"query {query} (id {int(pids[query])}, cam {int(cams[query])}): AP {per_query.ap[row]:.3f}, first true match at rank {first} (same-camera matches not counted)"


def nearest(distances: torch.Tensor, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's top_k gallery positions and distances, nearest first (a stable sort, so ties keep gallery order)."""
    ordered, order = torch.sort(distances, dim=1, stable=True)
    return order[:, :top_k].numpy(), ordered[:, :top_k].numpy()


def worst_query_sheet(per_query: PerQueryResult, query: torch.Tensor, gallery: torch.Tensor, metric: str, paths: list, pids: np.ndarray, cams: np.ndarray, count: int = 20, top_k: int = 10) -> Image.Image | None:
    """The contact sheet of the `count` lowest-AP queries from features alone (None when no query is valid)."""
    chosen = worst_queries(per_query)[:count]
    if not chosen:
        return None
    top_k = min(top_k, gallery.shape[0])
    rows = torch.cat([chunk.float().cpu().clone() for chunk in iter_distance_chunks(query[chosen], gallery, metric, len(chosen))])
    index, distance = nearest(rows, top_k)
    num_query = query.shape[0]
    grids = [query_grid(paths, pids, cams, num_query, q, index[i], distance[i], query_title(per_query, pids, cams, q))[0] for i, q in enumerate(chosen)]
    return contact_sheet(grids)


def contact_sheet(grids: list[Image.Image]) -> Image.Image:
    """Grids stacked top to bottom (the 20 worst queries on one page)."""
    width = max(g.width for g in grids)
    sheet = Image.new("RGB", (width, sum(g.height for g in grids)), "white")
    top = 0
    for grid in grids:
        sheet.paste(grid, (0, top))
        top += grid.height
    return sheet


def _paste(canvas: Image.Image, draw: ImageDraw.ImageDraw, path: str | Path, left: int, top: int, colour: tuple[int, int, int], lines: list[str]) -> None:
    draw.rectangle([left, top, left + TILE_W + 2 * FRAME - 1, top + TILE_H + 2 * FRAME - 1], fill=colour)
    with Image.open(path) as image:
        canvas.paste(ImageOps.fit(image.convert("RGB"), (TILE_W, TILE_H)), (left + FRAME, top + FRAME))
    for number, line in enumerate(lines):
        draw.text((left, top + TILE_H + 2 * FRAME + 2 + 12 * number), line, fill=(0, 0, 0))
