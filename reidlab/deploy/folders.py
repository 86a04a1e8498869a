"""Folders of images: embed a whole folder, or enrol a gallery laid out as one sub-folder per identity.

    GALLERY_DIR/
        alice/001.jpg, alice/front/002.png ...   every image under alice/ is enrolled as "alice"
        bob/...

Images are found by suffix (.jpg .jpeg .png .bmp .webp), in sub-folders too, in sorted order.
Undecodable images are skipped and reported with their path relative to the folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reidlab.deploy.errors import DeployError
from reidlab.deploy.gallery import Gallery
from reidlab.deploy.gallery_store import is_saved_gallery
from reidlab.deploy.images import SkippedImage, list_image_files
from reidlab.deploy.model import ReIDModel

NOT_IN_IDENTITY_FOLDER = "not inside an identity sub-folder (GALLERY_DIR/<identity>/<images>), so not enrolled"


@dataclass
class FolderEmbeddings:
    """Embeddings of a folder's usable images, named relative to the folder (POSIX separators)."""

    root: Path
    images: list[str]
    vectors: np.ndarray
    skipped: list[SkippedImage] = field(default_factory=list)


def embed_folder(model: ReIDModel, folder: str | Path) -> FolderEmbeddings:
    """Every image under `folder`; DeployError when it holds none."""
    root = Path(folder)
    files = list_image_files(root)
    if not files:
        raise DeployError(f"{root}: no images (.jpg .jpeg .png .bmp .webp) in this folder or below")
    embedded = model.embed_with_report(files)
    names = [_relative(files[i], root) for i in embedded.kept]
    skipped = [SkippedImage(s.index, _relative(files[s.index], root), s.reason) for s in embedded.skipped]
    return FolderEmbeddings(root, names, embedded.vectors, skipped)


def gallery_from_folder(model: ReIDModel, folder: str | Path) -> tuple[Gallery, list[SkippedImage]]:
    """A gallery enrolled from GALLERY_DIR/<identity>/<images>; DeployError when nothing could be enrolled."""
    root = Path(folder)
    files = list_image_files(root)
    loose = [f for f in files if f.parent == root]
    enrolable = [f for f in files if f.parent != root]
    skipped = [SkippedImage(-1, _relative(f, root), NOT_IN_IDENTITY_FOLDER) for f in loose]
    if not enrolable:
        raise DeployError(f"{root}: the gallery is empty: no images in identity sub-folders (lay it out as {root}/<identity>/<images>)")
    embedded = model.embed_with_report(enrolable)
    skipped += [SkippedImage(s.index, _relative(enrolable[s.index], root), s.reason) for s in embedded.skipped]
    if not len(embedded):
        raise DeployError(f"{root}: the gallery is empty: none of its {len(enrolable)} images could be decoded")
    gallery = Gallery(model)
    rows_of: dict[str, list[int]] = {}  # identity -> embedding rows, in sorted file order
    for row, index in enumerate(embedded.kept):
        rows_of.setdefault(enrolable[index].relative_to(root).parts[0], []).append(row)
    for identity, rows in rows_of.items():
        sources = [_relative(enrolable[embedded.kept[row]], root) for row in rows]
        gallery.add_embeddings(identity, embedded.vectors[rows], sources)
    return gallery, skipped


def open_gallery(model: ReIDModel, path: str | Path) -> tuple[Gallery, list[SkippedImage]]:
    """A saved gallery (a folder with gallery.json) or a folder of identity sub-folders to enrol now."""
    path = Path(path)
    if not path.is_dir():
        raise DeployError(f"{path}: gallery folder not found")
    if is_saved_gallery(path):
        gallery = Gallery.load(path, model)
        if len(gallery) == 0:
            raise DeployError(f"{path}: the saved gallery is empty: enrol at least one identity")
        return gallery, []
    return gallery_from_folder(model, path)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
