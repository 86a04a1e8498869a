"""Image records and data set splits: what every reader returns and every builder consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Sequence


class ImageRecord(NamedTuple):
    """One image: its file, its identity (pid) and its 0-based camera (camid)."""

    path: Path
    pid: int
    camid: int


@dataclass(frozen=True)
class ReidDataset:
    """A data set as read from disk: train, query and gallery records with their original pids."""

    name: str
    train: list[ImageRecord]
    query: list[ImageRecord]
    gallery: list[ImageRecord]
    location: Path = field(default=Path("."))

    def summary(self) -> dict[str, dict[str, int]]:
        """ids / images / cameras per split, like fast-reid's data set table."""
        return {"train": split_summary(self.train), "query": split_summary(self.query), "gallery": split_summary(self.gallery)}


def split_summary(records: Sequence[ImageRecord]) -> dict[str, int]:
    """Number of identities, images and cameras in a list of records."""
    return {
        "ids": len({r.pid for r in records}),
        "images": len(records),
        "cameras": len({r.camid for r in records}),
    }


def relabel_train(records: Sequence[ImageRecord], pid_offset: int = 0, camid_offset: int = 0) -> tuple[list[ImageRecord], int, int]:
    """Training records with pids and camids mapped to offset + 0..N-1 in sorted order.

    Returns the relabelled records and the number of distinct pids and camids, so several
    data sets can be concatenated with non-overlapping labels (fast-reid prefixes names instead).
    """
    pid_map = {pid: i + pid_offset for i, pid in enumerate(sorted({r.pid for r in records}))}
    cam_map = {cam: i + camid_offset for i, cam in enumerate(sorted({r.camid for r in records}))}
    relabelled = [ImageRecord(r.path, pid_map[r.pid], cam_map[r.camid]) for r in records]
    return relabelled, len(pid_map), len(cam_map)


def format_summary_table(rows: dict[str, dict[str, int]], title: str = "") -> str:
    """A plain-text table of {split: {ids, images, cameras}} for the log."""
    header = f"{'subset':<10}| {'# ids':>7} | {'# images':>9} | {'# cameras':>9}"
    line = "-" * len(header)
    body = [f"{name:<10}| {row['ids']:>7} | {row['images']:>9} | {row['cameras']:>9}" for name, row in rows.items()]
    parts = ([title] if title else []) + [line, header, line, *body, line]
    return "\n".join(parts)
