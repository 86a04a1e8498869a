"""What `reidlab export`, `reidlab embed` and `reidlab match` do: each one call, printing a short summary.

Skipped images are listed on stderr; the exit code is 0 when the output was written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from reidlab.deploy.errors import DeployError
from reidlab.deploy.export import MAX_ABS_DIFF, export_model
from reidlab.deploy.folders import embed_folder, open_gallery
from reidlab.deploy.images import SkippedImage
from reidlab.deploy.matching import check_match_arguments
from reidlab.deploy.model import ReIDModel
from reidlab.deploy.outputs import EMBED_SUFFIXES, MATCH_SUFFIXES, check_output_path, write_embeddings, write_matches

FAISS_CHOICES = {"auto": None, "on": True, "off": False}


def export_main(run: str | Path, fmt: str = "onnx", out: str | Path | None = None, tolerance: float = MAX_ABS_DIFF, config_file: str | Path | None = None) -> int:
    result = export_model(run, fmt, out, tolerance, config_file)
    print(result.summary())
    return 0


def embed_main(
    run: str | Path, images_dir: str | Path, out: str | Path, batch_size: int | None = None, device: str | None = None, config_file: str | Path | None = None
) -> int:
    check_output_path(out, EMBED_SUFFIXES)
    model = ReIDModel.from_run(run, device=device, batch_size=batch_size, config_file=config_file)
    result = embed_folder(model, images_dir)
    report_skipped(result.skipped)
    if not result.images:
        raise DeployError(f"{images_dir}: none of its {len(result.skipped)} images could be decoded; nothing written")
    path = write_embeddings(out, result, model)
    print(f"embedded {len(result.images)} images ({model.embedding_dim}-d, {_skip_note(result.skipped)}) with {model.describe()}; wrote {path}")
    return 0


def match_main(
    run: str | Path,
    gallery: str | Path,
    query: str | Path,
    out: str | Path,
    top_k: int = 5,
    threshold: float | None = None,
    save_gallery: str | Path | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    faiss: str = "auto",
    config_file: str | Path | None = None,
) -> int:
    check_output_path(out, MATCH_SUFFIXES)
    check_match_arguments(top_k, threshold)
    if faiss not in FAISS_CHOICES:
        raise DeployError(f"--faiss {faiss!r}: choose auto, on or off")
    model = ReIDModel.from_run(run, device=device, batch_size=batch_size, config_file=config_file)
    enrolled, gallery_skipped = open_gallery(model, gallery)
    report_skipped(gallery_skipped, "gallery")
    queries = embed_folder(model, query)
    report_skipped(queries.skipped, "query")
    if not queries.images:
        raise DeployError(f"{query}: none of its {len(queries.skipped)} query images could be decoded; nothing written")
    matches = enrolled.match_embeddings(queries.vectors, top_k, threshold, use_faiss=FAISS_CHOICES[faiss])
    path = write_matches(out, queries.images, matches, queries.skipped, model, gallery, top_k, threshold)
    if save_gallery is not None:
        print(f"saved the gallery to {enrolled.save(save_gallery).parent}")
    matched = sum(1 for found in matches if found)
    print(
        f"matched {len(queries.images)} query images ({_skip_note(queries.skipped)}) against {enrolled.num_identities} identities "
        f"({len(enrolled)} images); {matched} with a match; wrote {path}"
    )
    return 0


def report_skipped(skipped: Sequence[SkippedImage], what: str = "") -> None:
    """One stderr line per skipped image: its path and why."""
    label = f"{what} " if what else ""
    for item in skipped:
        print(f"skipped {label}image {item.source}: {item.reason}", file=sys.stderr)


def _skip_note(skipped: Sequence[SkippedImage]) -> str:
    return f"{len(skipped)} skipped, listed on stderr" if skipped else "none skipped"
