"""A plain folder layout for your own data (config name "Folder").

    <DATASETS.ROOT>/Folder/            (or <DATASETS.ROOT>/folder/, or DATASETS.ROOT itself)
        train/<pid>/c<camera>_<anything>.jpg
        query/<pid>/c<camera>_<anything>.jpg
        gallery/<pid>/c<camera>_<anything>.jpg

<pid> is a folder named by an integer (0001 and 1 are the same identity). Query and gallery
share pids (that is what makes a match); train pids are separate people. Folder -1 holds junk
and is skipped; folder 0 in the gallery holds distractors (people never queried).
The file name starts with the camera number, with or without a leading "c" (c3_frame12.jpg or
3_frame12.jpg); numbers are used as written (only equality matters). Images: .jpg .jpeg .png
.bmp .webp. A file directly in a split folder, a pid folder that is not an integer, or a file
name without a camera fails the read with the count and the first example.
"""

from __future__ import annotations

import re
from pathlib import Path

from reidlab.data.datasets.layout import find_dataset_dir, image_files, raise_if_bad_names, require_images
from reidlab.data.datasets.registry import register_dataset
from reidlab.data.errors import DatasetError
from reidlab.data.records import ImageRecord, ReidDataset

CANDIDATES = ("Folder", "folder", ".")
SPLITS = ("train", "query", "gallery")
JUNK_FOLDER = -1
CAMERA_NAME = re.compile(r"^c?(\d+)_")
NAME_PATTERN = "<split>/<pid>/c<camera>_<anything>.jpg, e.g. train/0007/c2_000123.jpg"


@register_dataset("Folder")
def read_folder(root: Path) -> ReidDataset:
    """Records of the plain folder layout under DATASETS.ROOT."""
    base = find_dataset_dir(Path(root), "Folder", CANDIDATES, SPLITS)
    splits = {split: read_split(base / split) for split in SPLITS}
    return ReidDataset(name="Folder", location=base, **splits)


def read_split(split_dir: Path) -> list[ImageRecord]:
    """Records of one split: every <pid> sub-folder's images."""
    stray = image_files(split_dir)
    if stray:
        raise DatasetError(
            f"Folder: {len(stray)} image(s) lie directly in {split_dir} (first: {stray[0].name}); "
            f"put each identity's images in a sub-folder named by its pid ({NAME_PATTERN})"
        )
    pid_dirs = sorted(p for p in split_dir.iterdir() if p.is_dir())
    records: list[ImageRecord] = []
    bad: list[Path] = []
    total = 0
    for pid_dir in pid_dirs:
        pid = _pid_of(pid_dir)
        if pid == JUNK_FOLDER:
            continue
        for path in image_files(pid_dir):
            total += 1
            match = CAMERA_NAME.match(path.name)
            if match is None:
                bad.append(path)
            else:
                records.append(ImageRecord(path, pid, int(match.group(1))))
    raise_if_bad_names(bad, total, split_dir, "Folder", NAME_PATTERN)
    require_images(records, split_dir, "Folder", NAME_PATTERN)
    return records


def _pid_of(pid_dir: Path) -> int:
    try:
        return int(pid_dir.name)
    except ValueError:
        raise DatasetError(
            f"Folder: {pid_dir} is not named by an integer pid; rename identity folders to numbers ({NAME_PATTERN})"
        ) from None
