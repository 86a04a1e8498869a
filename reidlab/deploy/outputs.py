"""Write embed and match results as JSON, CSV or npz (chosen by the file's suffix), atomically.

embed:  .json {"model", "embedding_dim", "flip_test", "images": [{"image", "embedding"}], "skipped": [{"image", "reason"}]}
        .csv  image,e0,...,e<D-1>         (one row per embedded image)
        .npz  images (N,) str, embeddings (N, D) float32, skipped_images, skipped_reasons
match:  .json {"model", "gallery", "top_k", "threshold", "queries": [{"image", "matches": [{"identity", "similarity"}]}], "skipped"}
        .csv  image,rank,identity,similarity   (a query without a match above the threshold: one row, rank empty)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

import numpy as np

from reidlab.deploy.errors import DeployError
from reidlab.deploy.folders import FolderEmbeddings
from reidlab.deploy.images import SkippedImage
from reidlab.deploy.matching import Match
from reidlab.deploy.model import ReIDModel
from reidlab.rundir import save_npz_atomic, write_json_atomic, write_text_atomic

EMBED_SUFFIXES = (".json", ".csv", ".npz")
MATCH_SUFFIXES = (".json", ".csv")


def check_output_path(out: str | Path, suffixes: Sequence[str]) -> Path:
    """Refuse an unknown format before any work is done."""
    path = Path(out)
    if path.suffix.lower() not in suffixes:
        raise DeployError(f"--out {path}: the suffix picks the format; use one of {', '.join(suffixes)}")
    if path.is_dir():
        raise DeployError(f"--out {path}: is a folder; give a file name")
    return path


def write_embeddings(out: str | Path, result: FolderEmbeddings, model: ReIDModel) -> Path:
    path = check_output_path(out, EMBED_SUFFIXES)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return save_npz_atomic(
            path,
            {
                "images": np.asarray(result.images, dtype=np.str_),
                "embeddings": result.vectors.astype(np.float32, copy=False),
                "skipped_images": np.asarray([s.source for s in result.skipped], dtype=np.str_),
                "skipped_reasons": np.asarray([s.reason for s in result.skipped], dtype=np.str_),
            },
        )
    if suffix == ".csv":
        header = ["image"] + [f"e{i}" for i in range(result.vectors.shape[1])]
        rows = [[name, *map(repr, vector.tolist())] for name, vector in zip(result.images, result.vectors)]
        return write_text_atomic(path, _csv_text(header, rows))
    return write_json_atomic(
        path,
        {
            "model": str(model.source or ""),
            "embedding_dim": model.embedding_dim,
            "flip_test": model.flip_test,
            "images": [{"image": name, "embedding": vector.tolist()} for name, vector in zip(result.images, result.vectors)],
            "skipped": _skipped(result.skipped),
        },
    )


def write_matches(
    out: str | Path,
    queries: Sequence[str],
    matches: Sequence[Sequence[Match]],
    skipped: Sequence[SkippedImage],
    model: ReIDModel,
    gallery: str | Path,
    top_k: int,
    threshold: float | None,
) -> Path:
    path = check_output_path(out, MATCH_SUFFIXES)
    if path.suffix.lower() == ".csv":
        rows: list[list[object]] = []
        for name, found in zip(queries, matches):
            rows += [[name, rank, m.identity, repr(m.similarity)] for rank, m in enumerate(found, start=1)] or [[name, "", "", ""]]
        return write_text_atomic(path, _csv_text(["image", "rank", "identity", "similarity"], rows))
    return write_json_atomic(
        path,
        {
            "model": str(model.source or ""),
            "gallery": str(gallery),
            "top_k": top_k,
            "threshold": threshold,
            "queries": [{"image": name, "matches": [m.to_dict() for m in found]} for name, found in zip(queries, matches)],
            "skipped": _skipped(skipped),
        },
    )


def _skipped(skipped: Sequence[SkippedImage]) -> list[dict[str, str]]:
    return [{"image": s.source, "reason": s.reason} for s in skipped]


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
