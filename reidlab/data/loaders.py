"""Loaders that turn sampled indices into batches.

In memory (the cache holds every decoded image): each batch is gathered and augmented in the
main process as one uint8 tensor; no worker processes, so nothing large is pickled under
Windows' spawn. Streaming (no cache): a torch DataLoader whose NUM_WORKERS workers each decode
and augment whole batches. Both use the same decoding, the same augmentation and the same
(seed, epoch, batch) random stream, so they yield identical batches.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from reidlab.data.batches import TestBatch, TrainBatch
from reidlab.data.decoding import load_image
from reidlab.data.errors import DatasetError
from reidlab.data.intra_op import one_intra_op_thread
from reidlab.data.randomness import augment_generator
from reidlab.data.sampler import EpochBatchSampler
from reidlab.data.transforms import TrainAugmentation


class _EpochState:
    """set_epoch / state_dict shared by the train loaders; the epoch is the whole sampling state."""

    sampler: EpochBatchSampler
    seed: int

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch the next iteration yields; call it before every epoch."""
        self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict[str, int]:
        """Everything needed to reproduce the next epoch's batches (for last_checkpoint.pth)."""
        return {"epoch": self.sampler.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore state_dict(); a different seed means a different run and is refused."""
        if int(state.get("seed", self.seed)) != self.seed:
            raise ValueError(f"checkpoint was made with data seed {state['seed']}, this loader uses {self.seed}")
        self.sampler.set_epoch(int(state["epoch"]))

    def __len__(self) -> int:
        return len(self.sampler)


class InMemoryTrainLoader(_EpochState):
    """Training batches gathered from cached pixels (N, 3, H, W) and augmented in the main process."""

    cached = True

    def __init__(
        self, pixels: torch.Tensor, targets: torch.Tensor, camids: torch.Tensor, sampler: EpochBatchSampler, augmentation: TrainAugmentation, seed: int
    ) -> None:
        self.pixels, self.targets, self.camids = pixels, targets, camids
        self.sampler, self.augmentation, self.seed = sampler, augmentation, int(seed)

    def __iter__(self) -> Iterator[TrainBatch]:
        epoch, rank = self.sampler.epoch, self.sampler.rank
        for batch_index, indices in enumerate(self.sampler):
            with one_intra_op_thread():
                index = torch.as_tensor(indices, dtype=torch.int64)
                images = self.augmentation(self.pixels.index_select(0, index), augment_generator(self.seed, epoch, batch_index, rank))
                batch = TrainBatch(images, self.targets[index], self.camids[index])
            yield batch


class DecodeTrainBatches(Dataset):
    """Worker side of the streaming loader: key (epoch, batch index, indices) -> an augmented TrainBatch."""

    def __init__(
        self, paths: Sequence[Path], targets: torch.Tensor, camids: torch.Tensor, size: Sequence[int], augmentation: TrainAugmentation, seed: int, rank: int
    ) -> None:
        self.paths, self.targets, self.camids = list(paths), targets, camids
        self.size, self.augmentation, self.seed, self.rank = tuple(size), augmentation, int(seed), rank

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int, list[int]]) -> TrainBatch:
        epoch, batch_index, indices = key
        with one_intra_op_thread():  # a no-op in workers, which torch already runs single-threaded
            images = torch.stack([load_image(self.paths[i], self.size) for i in indices])
            images = self.augmentation(images, augment_generator(self.seed, epoch, batch_index, self.rank))
        index = torch.as_tensor(indices, dtype=torch.int64)
        return TrainBatch(images, self.targets[index], self.camids[index])


def leave_stop_signals_to_the_trainer(worker_id: int) -> None:
    """In a loader worker: ignore Ctrl-C and SIGTERM, which the main process turns into a clean `interrupted` stop.

    timeout, SLURM and a closing terminal signal the whole process group; a worker killed by it
    would make the main process fail with "DataLoader worker is killed" instead. The main
    process ends its workers itself, and a worker whose main process died exits on its own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class EpochBatchKeys:
    """Turns a batch sampler into DataLoader keys (epoch, batch index, indices), so workers need no state."""

    def __init__(self, sampler: EpochBatchSampler) -> None:
        self.sampler = sampler

    def __iter__(self) -> Iterator[tuple[int, int, list[int]]]:
        epoch = self.sampler.epoch
        for batch_index, indices in enumerate(self.sampler):
            yield epoch, batch_index, indices

    def __len__(self) -> int:
        return len(self.sampler)


class StreamingTrainLoader(_EpochState):
    """Training batches decoded and augmented by DataLoader workers (spawn-safe; persistent across epochs)."""

    cached = False

    def __init__(
        self,
        paths: Sequence[Path],
        targets: torch.Tensor,
        camids: torch.Tensor,
        size: Sequence[int],
        sampler: EpochBatchSampler,
        augmentation: TrainAugmentation,
        seed: int,
        num_workers: int,
        multiprocessing_context: Any = None,
    ) -> None:
        self.sampler, self.seed = sampler, int(seed)
        dataset = DecodeTrainBatches(paths, targets, camids, size, augmentation, seed, sampler.rank)
        self.data_loader = DataLoader(
            dataset,
            sampler=EpochBatchKeys(sampler),
            batch_size=None,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            multiprocessing_context=multiprocessing_context if num_workers > 0 else None,
            worker_init_fn=leave_stop_signals_to_the_trainer,
        )

    def __iter__(self) -> Iterator[TrainBatch]:
        return iter(self.data_loader)


def batch_ranges(start: int, end: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, end) of each evaluation batch over the rows start..end, in order."""
    return [(first, min(first + batch_size, end)) for first in range(start, end, batch_size)]


def rank_rows(num_images: int, rank: int, world_size: int) -> tuple[int, int]:
    """The contiguous rows rank `rank` evaluates: concatenating the ranks' features in rank order restores loader order."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside 0..world_size-1 (world_size {world_size})")
    if num_images < world_size:
        raise DatasetError(f"{num_images} evaluation images cannot be shared by {world_size} processes; start fewer processes (torchrun --nproc_per_node)")
    return rank * num_images // world_size, (rank + 1) * num_images // world_size


class InMemoryTestLoader:
    """Evaluation batches sliced from cached pixels, in order (query first, then gallery)."""

    cached = True

    def __init__(self, pixels: torch.Tensor, pids: torch.Tensor, camids: torch.Tensor, batch_size: int, ranges: list[tuple[int, int]] | None = None) -> None:
        self.pixels, self.pids, self.camids, self.batch_size = pixels, pids, camids, batch_size
        self.ranges = batch_ranges(0, len(pids), batch_size) if ranges is None else ranges

    def __len__(self) -> int:
        return len(self.ranges)

    def __iter__(self) -> Iterator[TestBatch]:
        for start, end in self.ranges:
            yield TestBatch(self.pixels[start:end], self.pids[start:end], self.camids[start:end], torch.arange(start, end))

    def shard(self, rank: int, world_size: int) -> "InMemoryTestLoader":
        """The batches rank `rank` of `world_size` evaluates."""
        ranges = batch_ranges(*rank_rows(len(self.pids), rank, world_size), self.batch_size)
        return InMemoryTestLoader(self.pixels, self.pids, self.camids, self.batch_size, ranges)


class DecodeTestBatches(Dataset):
    """Worker side of the streaming test loader: key (start, end) -> a TestBatch of those positions."""

    def __init__(self, paths: Sequence[Path], pids: torch.Tensor, camids: torch.Tensor, size: Sequence[int]) -> None:
        self.paths, self.pids, self.camids, self.size = list(paths), pids, camids, tuple(size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int]) -> TestBatch:
        start, end = key
        with one_intra_op_thread():
            images = torch.stack([load_image(path, self.size) for path in self.paths[start:end]])
        return TestBatch(images, self.pids[start:end], self.camids[start:end], torch.arange(start, end))


class StreamingTestLoader:
    """Evaluation batches decoded by DataLoader workers, in order."""

    cached = False

    def __init__(
        self,
        paths: Sequence[Path],
        pids: torch.Tensor,
        camids: torch.Tensor,
        size: Sequence[int],
        batch_size: int,
        num_workers: int,
        multiprocessing_context: Any = None,
        ranges: list[tuple[int, int]] | None = None,
    ) -> None:
        self.paths, self.batch_size = list(paths), batch_size
        self.arguments = (paths, pids, camids, size, batch_size, num_workers, multiprocessing_context)  # to build a shard alike
        self.ranges = batch_ranges(0, len(paths), batch_size) if ranges is None else ranges
        self.data_loader = DataLoader(
            DecodeTestBatches(paths, pids, camids, size),
            sampler=self.ranges,
            batch_size=None,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            multiprocessing_context=multiprocessing_context if num_workers > 0 else None,
            worker_init_fn=leave_stop_signals_to_the_trainer,
        )

    def __len__(self) -> int:
        return len(self.data_loader)

    def __iter__(self) -> Iterator[TestBatch]:
        return iter(self.data_loader)

    def shard(self, rank: int, world_size: int) -> "StreamingTestLoader":
        """The batches rank `rank` of `world_size` evaluates."""
        ranges = batch_ranges(*rank_rows(len(self.paths), rank, world_size), self.batch_size)
        return StreamingTestLoader(*self.arguments, ranges=ranges)
