"""Name -> reader registry, so configs can say DATASETS.NAMES: ("Market1501",)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from reidlab.data.errors import DatasetError
from reidlab.data.records import ReidDataset

DatasetReader = Callable[[Path], ReidDataset]

_READERS: dict[str, DatasetReader] = {}


def register_dataset(name: str) -> Callable[[DatasetReader], DatasetReader]:
    """Decorator: make `reader(root)` available under the config name `name`."""

    def add(reader: DatasetReader) -> DatasetReader:
        if name in _READERS and _READERS[name] is not reader:
            raise ValueError(f"data set name {name!r} is registered twice")
        _READERS[name] = reader
        return reader

    return add


def dataset_names() -> list[str]:
    """The registered config names, sorted."""
    return sorted(_READERS)


def read_dataset(name: str, root: str | Path) -> ReidDataset:
    """Read the data set registered as `name` from under DATASETS.ROOT."""
    reader = _READERS.get(name)
    if reader is None:
        raise DatasetError(f"unknown data set {name!r} in DATASETS.NAMES/TESTS; known: {', '.join(dataset_names())}")
    return reader(Path(root))
