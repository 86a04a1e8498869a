"""Shared helpers for readers: find the data set folder, list images, check file names.

Each failure is a DatasetError naming the path and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

from reidlab.data.errors import DatasetError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})

SYNTH_HINT = "or, to try reidlab without data, write a synthetic set with `reidlab data synth --out DIR` and use DATASETS.NAMES Market1501 DATASETS.ROOT DIR"


def find_dataset_dir(root: Path, name: str, candidates: Sequence[str], required: Sequence[str]) -> Path:
    """The first of root/<candidate> that holds every `required` entry (sub-folder or file)."""
    if not root.is_dir():
        raise DatasetError(
            f"{name}: DATASETS.ROOT folder {root} does not exist (resolved: {root.resolve()}); "
            f"set DATASETS.ROOT to the folder that holds {candidates[0]}/, {SYNTH_HINT}"
        )
    existing = [(c, root / c) for c in candidates if (root / c).is_dir()]
    for candidate, folder in existing:
        if all((folder / entry).exists() for entry in required):
            return folder
    for candidate, folder in existing:
        missing = [entry for entry in required if not (folder / entry).exists()]
        if candidate != "." or len(missing) < len(required):
            raise DatasetError(
                f"{name}: {folder} is incomplete: missing {', '.join(missing)} "
                f"(expected {', '.join(required)} inside it); re-extract the data set there"
            )
    looked = ", ".join(str(root / c) for c in candidates)
    raise DatasetError(
        f"{name}: data set not found; looked for {', '.join(required)} in: {looked}. "
        f"Set DATASETS.ROOT to the folder that holds {candidates[0]}/, {SYNTH_HINT}"
    )


def image_files(folder: Path) -> list[Path]:
    """Image files directly inside `folder`, sorted by name (other files such as Thumbs.db are ignored)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def require_images(files: Sequence[Path], folder: Path, name: str, example: str) -> None:
    """An empty image folder is an error that says what should be there."""
    if not files:
        raise DatasetError(
            f"{name}: no images in {folder} (expected files like {example}; "
            f"read are {', '.join(sorted(IMAGE_SUFFIXES))}); copy the data set there or fix DATASETS.ROOT"
        )


def raise_if_bad_names(bad: Sequence[Path], total: int, folder: Path, name: str, pattern: str) -> None:
    """File names that do not parse fail the whole read: count, first example, expected pattern."""
    if bad:
        raise DatasetError(
            f"{name}: {len(bad)} of {total} file names in {folder} do not match the expected pattern {pattern}; "
            f"first: {bad[0].name}. Rename or remove them (only image files are read)"
        )


def parse_file_names(
    files: Sequence[Path], parse: Callable[[str], tuple[int, int] | None], folder: Path, name: str, pattern: str
) -> list[tuple[Path, int, int]]:
    """(path, pid, camid) for every file; any name `parse` rejects fails the read (raise_if_bad_names)."""
    parsed: list[tuple[Path, int, int]] = []
    bad: list[Path] = []
    for path in files:
        fields = parse(path.name)
        if fields is None:
            bad.append(path)
        else:
            parsed.append((path, *fields))
    raise_if_bad_names(bad, len(files), folder, name, pattern)
    return parsed


def pid_camera_parser(regex: str) -> Callable[[str], tuple[int, int] | None]:
    """A parser for names whose regex captures (pid, 1-based camera); returns (pid, 0-based camid)."""
    compiled = re.compile(regex)

    def parse(file_name: str) -> tuple[int, int] | None:
        match = compiled.match(file_name)
        if match is None or int(match.group(2)) < 1:
            return None
        return int(match.group(1)), int(match.group(2)) - 1

    return parse
