"""Batch samplers: which training images form each batch of an epoch.

All three yield lists of dataset indices, one list per batch, and derive everything from
(seed, epoch) (call set_epoch before each epoch), so a resumed run repeats its batches.
An epoch has num_images // IMS_PER_BATCH batches for every sampler, fast-reid's epoch length.
For a later DDP run, each of `world_size` ranks takes its contiguous slice of every global
batch (with P divisible by world_size, each rank gets whole identities x K).
"""

from __future__ import annotations

from itertools import islice
from typing import Iterator, Sequence

import numpy as np

from reidlab.data.errors import DatasetError
from reidlab.data.randomness import sampler_rng


class EpochBatchSampler:
    """Shared part: epoch bookkeeping, epoch length and the per-rank slice of each global batch."""

    def __init__(self, num_images: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside 0..world_size-1 (world_size {world_size})")
        if batch_size % world_size:
            raise DatasetError(f"SOLVER.IMS_PER_BATCH {batch_size} is not divisible by the {world_size} processes; make it a multiple")
        if num_images < batch_size:
            raise DatasetError(
                f"only {num_images} training images for a batch of SOLVER.IMS_PER_BATCH {batch_size}; lower SOLVER.IMS_PER_BATCH or add data"
            )
        self.num_images = num_images
        self.batch_size = batch_size
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches the next iteration yields."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_images // self.batch_size

    @property
    def local_batch_size(self) -> int:
        """Images per batch on this rank."""
        return self.batch_size // self.world_size

    def __iter__(self) -> Iterator[list[int]]:
        rng = sampler_rng(self.seed, self.epoch)
        start = self.rank * self.local_batch_size
        for batch in islice(self.global_batches(rng), len(self)):
            yield [int(i) for i in batch[start : start + self.local_batch_size]]

    def global_batches(self, rng: np.random.Generator) -> Iterator[Sequence[int]]:
        """Endless global batches of batch_size indices for one epoch's generator."""
        raise NotImplementedError


class TrainingSampler(EpochBatchSampler):
    """Every image once per epoch in a fresh random order; the last partial batch is dropped."""

    def global_batches(self, rng: np.random.Generator) -> Iterator[Sequence[int]]:
        while True:
            order = rng.permutation(self.num_images)
            for start in range(0, self.num_images - self.batch_size + 1, self.batch_size):
                yield order[start : start + self.batch_size]


class _IdentityBatches(EpochBatchSampler):
    """Shared part of the P identities x K instances samplers: grouping and the fit checks."""

    def __init__(self, pids: Sequence[int], batch_size: int, num_instances: int, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        if num_instances < 1 or batch_size % num_instances:
            raise DatasetError(
                f"SOLVER.IMS_PER_BATCH {batch_size} is not divisible by DATALOADER.NUM_INSTANCE {num_instances}; "
                "make IMS_PER_BATCH = P identities x NUM_INSTANCE"
            )
        self.num_instances = num_instances
        self.pids_per_batch = batch_size // num_instances
        pid_array = np.asarray(pids)
        self.identities = np.unique(pid_array)
        if len(self.identities) < self.pids_per_batch:
            raise DatasetError(
                f"a batch needs {self.pids_per_batch} identities (SOLVER.IMS_PER_BATCH {batch_size} / DATALOADER.NUM_INSTANCE "
                f"{num_instances}) but the training set has only {len(self.identities)}; lower IMS_PER_BATCH or raise NUM_INSTANCE"
            )
        super().__init__(len(pids), batch_size, seed, rank, world_size)
        order = np.argsort(pid_array, kind="stable")
        bounds = np.searchsorted(pid_array[order], self.identities, side="left")
        self.indices_of = np.split(order, bounds[1:])  # image indices of each identity, in dataset order


class NaiveIdentitySampler(_IdentityBatches):
    """fast-reid's NaiveIdentitySampler: P random identities x K of their images per batch.

    Within a round every identity hands out its shuffled images K at a time (identities with
    fewer than K images are sampled with replacement up to K) and leaves the round when fewer
    than K remain; a new round starts when fewer than P identities are left.
    """

    def global_batches(self, rng: np.random.Generator) -> Iterator[Sequence[int]]:
        k, p = self.num_instances, self.pids_per_batch
        while True:
            pools: dict[int, list[int]] = {}
            available = list(range(len(self.identities)))
            while len(available) >= p:
                chosen = rng.choice(len(available), size=p, replace=False)
                batch: list[int] = []
                leaving: set[int] = set()
                for slot in chosen:
                    identity = available[slot]
                    if identity not in pools:
                        pools[identity] = self._shuffled_pool(identity, rng)
                    pool = pools[identity]
                    batch.extend(pool[:k])
                    del pool[:k]
                    if len(pool) < k:
                        leaving.add(identity)
                available = [i for i in available if i not in leaving]
                yield batch

    def _shuffled_pool(self, identity: int, rng: np.random.Generator) -> list[int]:
        images = self.indices_of[identity]
        if len(images) < self.num_instances:
            return rng.choice(images, size=self.num_instances, replace=True).tolist()
        return rng.permutation(images).tolist()


class BalancedIdentitySampler(_IdentityBatches):
    """fast-reid's BalancedIdentitySampler: P identities x K images, preferring other cameras.

    Each round walks a permutation of all identities in groups of P (the remainder is dropped).
    For each identity one random image is drawn, then K-1 more from its other cameras when it
    has any (else from its other images; with replacement when there are too few).
    """

    def __init__(self, pids: Sequence[int], camids: Sequence[int], batch_size: int, num_instances: int, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        super().__init__(pids, batch_size, num_instances, seed, rank, world_size)
        cams = np.asarray(camids)
        self.cameras_of = [cams[indices] for indices in self.indices_of]

    def global_batches(self, rng: np.random.Generator) -> Iterator[Sequence[int]]:
        p = self.pids_per_batch
        usable = len(self.identities) - len(self.identities) % p
        while True:
            order = rng.permutation(len(self.identities))[:usable]
            for group in order.reshape(-1, p):
                batch: list[int] = []
                for identity in group:
                    batch.extend(self._instances(identity, rng))
                yield batch

    def _instances(self, identity: int, rng: np.random.Generator) -> list[int]:
        images, cameras = self.indices_of[identity], self.cameras_of[identity]
        first = int(rng.integers(len(images)))
        others = np.flatnonzero(cameras != cameras[first])
        if len(others) == 0:
            others = np.delete(np.arange(len(images)), first)
        need = self.num_instances - 1
        if len(others) == 0:
            picked = np.full(need, first)
        else:
            picked = rng.choice(others, size=need, replace=len(others) < need)
        return [int(images[first]), *(int(images[i]) for i in picked)]


SAMPLER_NAMES = ("TrainingSampler", "NaiveIdentitySampler", "BalancedIdentitySampler")


def build_train_sampler(
    name: str, pids: Sequence[int], camids: Sequence[int], batch_size: int, num_instances: int, seed: int, rank: int = 0, world_size: int = 1
) -> EpochBatchSampler:
    """The sampler DATALOADER.SAMPLER_TRAIN names, over training records' relabelled pids and camids."""
    if name == "TrainingSampler":
        return TrainingSampler(len(pids), batch_size, seed, rank, world_size)
    if name == "NaiveIdentitySampler":
        return NaiveIdentitySampler(pids, batch_size, num_instances, seed, rank, world_size)
    if name == "BalancedIdentitySampler":
        return BalancedIdentitySampler(pids, camids, batch_size, num_instances, seed, rank, world_size)
    raise DatasetError(f"unknown DATALOADER.SAMPLER_TRAIN {name!r}; choose one of {', '.join(SAMPLER_NAMES)}")
