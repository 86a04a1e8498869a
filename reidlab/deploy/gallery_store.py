"""A gallery on disk: one JSON file and one npz file in a folder, never pickle.

    GALLERY_DIR/gallery.json                 format, model fingerprint, identities, counts, which npz
    GALLERY_DIR/embeddings-<hash>.npz        embeddings (N, D) float32, labels (N,) int64, sources (N,) str

The npz is named by its content hash and written before the JSON that names it; the JSON is
replaced atomically, and older npz files are removed only after. A crash at any instant
therefore leaves a complete old or a complete new gallery. Loading uses
np.load(allow_pickle=False) and checks the hash, so a file cannot run code or be half-written.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reidlab.deploy.errors import DeployError
from reidlab.rundir import write_bytes_atomic, write_json_atomic

GALLERY_FILE = "gallery.json"
FORMAT = "reidlab-gallery"
VERSION = 1


@dataclass
class StoredGallery:
    """What a saved gallery holds."""

    identities: list[str]
    embeddings: np.ndarray
    labels: np.ndarray
    sources: list[str]
    embedding_dim: int
    model_fingerprint: str
    model_source: str


def is_saved_gallery(folder: str | Path) -> bool:
    return (Path(folder) / GALLERY_FILE).is_file()


def save_gallery(folder: str | Path, stored: StoredGallery) -> Path:
    """Write the gallery into `folder` (created if needed); returns the JSON path."""
    folder = Path(folder)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        embeddings=np.ascontiguousarray(stored.embeddings, dtype=np.float32),
        labels=np.asarray(stored.labels, dtype=np.int64),
        sources=np.asarray(list(stored.sources), dtype=np.str_),
    )
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    npz_name = f"embeddings-{digest[:16]}.npz"
    write_bytes_atomic(folder / npz_name, data)
    counts = np.bincount(stored.labels, minlength=len(stored.identities)).tolist() if len(stored.labels) else [0] * len(stored.identities)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "embedding_dim": stored.embedding_dim,
        "model_fingerprint": stored.model_fingerprint,
        "model_source": stored.model_source,
        "num_identities": len(stored.identities),
        "num_embeddings": int(len(stored.labels)),
        "identities": [{"name": name, "images": count} for name, count in zip(stored.identities, counts)],
        "embeddings_file": npz_name,
        "embeddings_sha256": digest,
    }
    path = write_json_atomic(folder / GALLERY_FILE, meta)
    for old in folder.glob("embeddings-*.npz"):
        if old.name != npz_name:
            old.unlink(missing_ok=True)
    return path


def load_gallery(folder: str | Path) -> StoredGallery:
    """Read and check a saved gallery; DeployError naming the problem otherwise."""
    folder = Path(folder)
    meta_path = folder / GALLERY_FILE
    if not meta_path.is_file():
        raise DeployError(f"{folder}: not a saved gallery (no {GALLERY_FILE})")
    meta = _read_meta(meta_path)
    npz_name = str(meta["embeddings_file"])
    if Path(npz_name).name != npz_name:
        raise DeployError(f"{meta_path}: embeddings_file must be a file name inside the gallery folder, got {npz_name!r}")
    npz_path = folder / npz_name
    try:
        data = npz_path.read_bytes()
    except OSError as exc:
        raise DeployError(f"{npz_path}: cannot read the gallery's embeddings ({exc.strerror})") from None
    if hashlib.sha256(data).hexdigest() != meta["embeddings_sha256"]:
        raise DeployError(f"{npz_path}: does not match {meta_path} (checksum differs); the gallery was changed by hand or damaged; enrol it again")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            embeddings, labels, sources = arrays["embeddings"], arrays["labels"], arrays["sources"]
    except (ValueError, KeyError, OSError) as exc:
        raise DeployError(f"{npz_path}: unreadable gallery embeddings ({exc})") from None
    identities = [str(entry["name"]) for entry in meta["identities"]]
    _check_shapes(npz_path, meta, embeddings, labels, sources, len(identities))
    return StoredGallery(
        identities=identities,
        embeddings=embeddings.astype(np.float32, copy=False),
        labels=labels.astype(np.int64, copy=False),
        sources=[str(s) for s in sources.tolist()],
        embedding_dim=int(meta["embedding_dim"]),
        model_fingerprint=str(meta.get("model_fingerprint", "")),
        model_source=str(meta.get("model_source", "")),
    )


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeployError(f"{path}: unreadable gallery file ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DeployError(f"{path}: not a reidlab gallery (no '{FORMAT}' marker)")
    if int(meta.get("version", 0)) > VERSION:
        raise DeployError(f"{path}: written by a newer reidlab (gallery version {meta['version']}); upgrade reidlab")
    missing = [k for k in ("embedding_dim", "identities", "embeddings_file", "embeddings_sha256") if k not in meta]
    if missing:
        raise DeployError(f"{path}: gallery file lacks {', '.join(missing)}")
    return meta


def _check_shapes(path: Path, meta: dict, embeddings: np.ndarray, labels: np.ndarray, sources: np.ndarray, num_identities: int) -> None:
    dim = int(meta["embedding_dim"])
    if embeddings.ndim != 2 or embeddings.shape[1] != dim or labels.shape != (len(embeddings),) or sources.shape != labels.shape:
        raise DeployError(f"{path}: embeddings, labels and sources disagree in shape; enrol the gallery again")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_identities):
        raise DeployError(f"{path}: labels point outside the {num_identities} identities; enrol the gallery again")
