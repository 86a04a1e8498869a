"""The builders the engine calls: config in, loaders and data set facts out.

build_train_data(cfg) reads DATASETS.NAMES (concatenated, pids and camids offset per data set),
decodes every image once (skipping corrupt ones with a counted warning), caches the pixels when
DATALOADER.CACHE_IMAGES allows, and wraps the DATALOADER.SAMPLER_TRAIN sampler in a loader.
build_test_data(cfg) does the same for each of DATASETS.TESTS: query first, then gallery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
import torch

from reidlab.data.datasets import read_dataset
from reidlab.data.errors import DatasetError
from reidlab.data.image_cache import decode_images, should_cache, warn_if_corrupt
from reidlab.data.loaders import InMemoryTestLoader, InMemoryTrainLoader, StreamingTestLoader, StreamingTrainLoader
from reidlab.data.records import ImageRecord, ReidDataset, format_summary_table, relabel_train, split_summary
from reidlab.data.sampler import EpochBatchSampler, build_train_sampler
from reidlab.data.transforms import TrainAugmentation

TrainLoader = Union[InMemoryTrainLoader, StreamingTrainLoader]
TestLoader = Union[InMemoryTestLoader, StreamingTestLoader]


@dataclass
class TrainData:
    """The training loader and the facts the model and the logs need."""

    loader: TrainLoader
    num_classes: int
    num_cameras: int
    records: list[ImageRecord]
    datasets: list[ReidDataset]
    skipped_corrupt: int = 0

    @property
    def num_images(self) -> int:
        return len(self.records)

    @property
    def cached(self) -> bool:
        return self.loader.cached

    def summary(self) -> dict[str, Any]:
        """ids / images / cameras of train (as used: relabelled, corrupt files left out) and of the sets' query / gallery."""
        return {
            "datasets": [d.name for d in self.datasets],
            "train": split_summary(self.records),
            "query": _summed(split_summary(d.query) for d in self.datasets),
            "gallery": _summed(split_summary(d.gallery) for d in self.datasets),
            "skipped_corrupt": self.skipped_corrupt,
            "cached": self.cached,
        }

    def summary_table(self) -> str:
        """fast-reid's data set table for the log."""
        info = self.summary()
        rows = {split: info[split] for split in ("train", "query", "gallery")}
        return format_summary_table(rows, title=f"training data: {' + '.join(info['datasets'])}")


@dataclass
class TestData:
    """One evaluation set: a loader over query then gallery, and the labels in loader order."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    loader: TestLoader
    num_query: int
    pids: np.ndarray
    camids: np.ndarray
    paths: list = field(default_factory=list)
    skipped_corrupt: int = 0

    @property
    def num_gallery(self) -> int:
        return len(self.pids) - self.num_query

    @property
    def cached(self) -> bool:
        return self.loader.cached

    def summary(self) -> dict[str, dict[str, int]]:
        """ids / images / cameras of query and gallery (as used)."""
        q = self.num_query
        return {
            "query": _label_summary(self.pids[:q], self.camids[:q]),
            "gallery": _label_summary(self.pids[q:], self.camids[q:]),
        }

    def summary_table(self) -> str:
        return format_summary_table(self.summary(), title=f"evaluation data: {self.name}")


def build_train_data(cfg: Any, seed: int | None = None, rank: int = 0, world_size: int = 1, multiprocessing_context: Any = None) -> TrainData:
    """Training data for cfg.DATASETS.NAMES; seed defaults to cfg.SEED."""
    seed = cfg.SEED if seed is None else int(seed)
    names = list(cfg.DATASETS.NAMES)
    if len(set(names)) != len(names):
        raise DatasetError(f"DATASETS.NAMES lists a data set twice: {names}; list each once")
    datasets = [read_dataset(name, cfg.DATASETS.ROOT) for name in names]
    raw = [(ds_index, record) for ds_index, ds in enumerate(datasets) for record in ds.train]
    unchecked, _, _ = _relabel_each(raw, len(datasets))
    _sampler_for(cfg, [r.pid for r in unchecked], [r.camid for r in unchecked], seed, rank, world_size)  # fail fast, before decoding
    size = tuple(cfg.INPUT.SIZE_TRAIN)
    num_workers = cfg.DATALOADER.NUM_WORKERS
    cache = should_cache(cfg.DATALOADER.CACHE_IMAGES, len(raw), size)
    decoded = decode_images([r.path for _, r in raw], size, cache, num_workers, multiprocessing_context)
    warn_if_corrupt(decoded, len(raw), f"training images of {' + '.join(names)}")
    kept = [raw[i] for i in decoded.kept]

    records, num_classes, num_cameras = _relabel_each(kept, len(datasets))
    if not records:
        raise DatasetError(f"no decodable training images in {' + '.join(names)} under DATASETS.ROOT {cfg.DATASETS.ROOT}")

    targets = torch.tensor([r.pid for r in records], dtype=torch.int64)
    camids = torch.tensor([r.camid for r in records], dtype=torch.int64)
    sampler = _sampler_for(cfg, targets.tolist(), camids.tolist(), seed, rank, world_size)
    augmentation = TrainAugmentation.from_config(cfg)
    loader: TrainLoader
    if decoded.pixels is not None:
        loader = InMemoryTrainLoader(decoded.pixels, targets, camids, sampler, augmentation, seed)
    else:
        loader = StreamingTrainLoader(
            [r.path for r in records], targets, camids, size, sampler, augmentation, seed, num_workers, multiprocessing_context
        )
    return TrainData(loader, num_classes, num_cameras, records, datasets, skipped_corrupt=len(decoded.corrupt))


def build_test_data(cfg: Any, multiprocessing_context: Any = None) -> list[TestData]:
    """One TestData per cfg.DATASETS.TESTS entry, in that order."""
    return [build_one_test_set(name, cfg, multiprocessing_context) for name in cfg.DATASETS.TESTS]


def build_one_test_set(name: str, cfg: Any, multiprocessing_context: Any = None) -> TestData:
    """Query then gallery of one data set, corrupt files left out."""
    dataset = read_dataset(name, cfg.DATASETS.ROOT)
    raw = dataset.query + dataset.gallery
    size = tuple(cfg.INPUT.SIZE_TEST)
    num_workers = cfg.DATALOADER.NUM_WORKERS
    cache = should_cache(cfg.DATALOADER.CACHE_IMAGES, len(raw), size)
    decoded = decode_images([r.path for r in raw], size, cache, num_workers, multiprocessing_context)
    warn_if_corrupt(decoded, len(raw), f"query/gallery images of {name}")
    records = [raw[i] for i in decoded.kept]
    num_query = sum(1 for i in decoded.kept if i < len(dataset.query))
    if num_query == 0 or num_query == len(records):
        raise DatasetError(f"{name}: no decodable {'query' if num_query == 0 else 'gallery'} images in {dataset.location}")
    pids = torch.tensor([r.pid for r in records], dtype=torch.int64)
    camids = torch.tensor([r.camid for r in records], dtype=torch.int64)
    batch_size = cfg.TEST.IMS_PER_BATCH
    loader: TestLoader
    if decoded.pixels is not None:
        loader = InMemoryTestLoader(decoded.pixels, pids, camids, batch_size)
    else:
        loader = StreamingTestLoader([r.path for r in records], pids, camids, size, batch_size, num_workers, multiprocessing_context)
    return TestData(
        name=name,
        loader=loader,
        num_query=num_query,
        pids=pids.numpy().copy(),
        camids=camids.numpy().copy(),
        paths=[r.path for r in records],
        skipped_corrupt=len(decoded.corrupt),
    )


def _relabel_each(tagged: list[tuple[int, ImageRecord]], num_datasets: int) -> tuple[list[ImageRecord], int, int]:
    """Relabel each data set's records to its own block of pids and camids, in data set order."""
    records: list[ImageRecord] = []
    num_classes = num_cameras = 0
    for ds_index in range(num_datasets):
        own = [record for index, record in tagged if index == ds_index]
        relabelled, pids, cams = relabel_train(own, num_classes, num_cameras)
        records += relabelled
        num_classes, num_cameras = num_classes + pids, num_cameras + cams
    return records, num_classes, num_cameras


def _sampler_for(cfg: Any, pids: list, camids: list, seed: int, rank: int, world_size: int) -> EpochBatchSampler:
    return build_train_sampler(
        cfg.DATALOADER.SAMPLER_TRAIN, pids, camids, cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE, seed, rank, world_size
    )


def _summed(rows: Any) -> dict[str, int]:
    """Counts over several data sets (their pids and cameras never coincide, so they add up)."""
    total = {"ids": 0, "images": 0, "cameras": 0}
    for row in rows:
        for name in total:
            total[name] += row[name]
    return total


def _label_summary(pids: np.ndarray, camids: np.ndarray) -> dict[str, int]:
    return {"ids": len(np.unique(pids)), "images": len(pids), "cameras": len(np.unique(camids))}
