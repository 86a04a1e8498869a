"""The bounding_box_train / query / bounding_box_test layout shared by Market-1501 and DukeMTMC-reID."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from reidlab.data.datasets.layout import find_dataset_dir, image_files, parse_file_names, pid_camera_parser, require_images
from reidlab.data.records import ImageRecord, ReidDataset

SPLIT_FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
JUNK_PID = -1

# pid (or -1 for junk), "_c", the 1-based camera; the rest of the name is free.
PID_CAMERA_NAME = r"^(-1|\d+)_c(\d+)"


def read_bounding_box_dataset(root: Path, name: str, candidates: Sequence[str], pattern: str) -> ReidDataset:
    """Read the three split folders; junk (pid -1) is dropped, distractors (pid 0) stay."""
    base = find_dataset_dir(root, name, candidates, list(SPLIT_FOLDERS.values()))
    splits = {split: read_split(base / folder, name, pattern) for split, folder in SPLIT_FOLDERS.items()}
    return ReidDataset(name=name, location=base, **splits)


def read_split(folder: Path, name: str, pattern: str) -> list[ImageRecord]:
    """Records of one split folder, sorted by file name, without junk."""
    files = image_files(folder)
    require_images(files, folder, name, pattern)
    parsed = parse_file_names(files, pid_camera_parser(PID_CAMERA_NAME), folder, name, pattern)
    return [ImageRecord(path, pid, camid) for path, pid, camid in parsed if pid != JUNK_PID]
