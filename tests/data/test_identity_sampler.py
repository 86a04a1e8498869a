"""Samplers: P x K structure, determinism per (seed, epoch), epoch length, rank slices, fit errors."""

from __future__ import annotations

from collections import Counter

import pytest

from reidlab.data import BalancedIdentitySampler, DatasetError, NaiveIdentitySampler, TrainingSampler, build_train_sampler

# 10 identities with 1..10 images each
PIDS = [pid for pid in range(10) for _ in range(pid + 1)]
CAMS = [i % 3 for i in range(len(PIDS))]


def batches(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("cls", [NaiveIdentitySampler, BalancedIdentitySampler])
def test_p_identities_times_k_instances(cls):
    sampler = cls(PIDS, 12, 4, seed=0) if cls is NaiveIdentitySampler else cls(PIDS, CAMS, 12, 4, seed=0)
    result = batches(sampler, 0)
    assert len(result) == len(sampler) == len(PIDS) // 12
    for batch in result:
        assert len(batch) == 12
        groups = [batch[i : i + 4] for i in range(0, 12, 4)]
        assert len({PIDS[g[0]] for g in groups}) == 3  # P distinct identities
        assert all(len({PIDS[i] for i in g}) == 1 for g in groups)  # K of the same identity, consecutive


def test_identities_with_few_images_are_sampled_with_replacement():
    sampler = NaiveIdentitySampler([0, 1, 1, 1, 1, 2, 2, 2, 2], 4, 4, seed=0)
    seen = [i for epoch in range(20) for batch in batches(sampler, epoch) for i in batch if PIDS_SMALL[i] == 0]
    assert seen and set(seen) == {0}


PIDS_SMALL = [0, 1, 1, 1, 1, 2, 2, 2, 2]


def test_naive_sampler_hands_out_distinct_images_within_a_round():
    pids = [pid for pid in range(8) for _ in range(8)]  # 8 ids x 8 images: the first two batches share a round
    sampler = NaiveIdentitySampler(pids, 16, 4, seed=3)
    for epoch in range(5):
        first_two = batches(sampler, epoch)[:2]
        counts = Counter(i for batch in first_two for i in batch)
        assert max(counts.values()) == 1


@pytest.mark.parametrize("make", [
    lambda: TrainingSampler(len(PIDS), 8, seed=1),
    lambda: NaiveIdentitySampler(PIDS, 8, 2, seed=1),
    lambda: BalancedIdentitySampler(PIDS, CAMS, 8, 2, seed=1),
])
def test_deterministic_per_epoch_and_different_across_epochs(make):
    first, second = make(), make()
    assert batches(first, 3) == batches(second, 3)
    assert batches(first, 3) == batches(first, 3)  # re-iterating an epoch repeats it (resume)
    assert batches(first, 3) != batches(first, 4)
    other_seed = make()
    other_seed.seed = 2
    assert batches(other_seed, 3) != batches(first, 3)


def test_training_sampler_visits_each_image_at_most_once_per_epoch():
    sampler = TrainingSampler(50, 8, seed=0)
    epoch = batches(sampler, 0)
    flat = [i for b in epoch for i in b]
    assert len(epoch) == 6 and len(flat) == len(set(flat)) == 48


@pytest.mark.parametrize("world_size", [2, 4])
def test_ranks_take_slices_of_the_same_global_batch(world_size):
    full = batches(NaiveIdentitySampler(PIDS, 16, 4, seed=0), 2)
    parts = [batches(NaiveIdentitySampler(PIDS, 16, 4, seed=0, rank=r, world_size=world_size), 2) for r in range(world_size)]
    for index, batch in enumerate(full):
        assert [i for part in parts for i in part[index]] == batch


def test_balanced_sampler_prefers_other_cameras():
    pids = [0] * 4 + [1] * 4
    cams = [0, 0, 1, 2, 0, 1, 2, 3]
    sampler = BalancedIdentitySampler(pids, cams, 4, 2, seed=0)
    for epoch in range(10):
        for batch in batches(sampler, epoch):
            for first, second in (batch[0:2], batch[2:4]):
                assert cams[first] != cams[second]


def test_batch_not_divisible_by_instances():
    with pytest.raises(DatasetError, match=r"IMS_PER_BATCH 10 is not divisible by DATALOADER.NUM_INSTANCE 4"):
        NaiveIdentitySampler(PIDS, 10, 4)


def test_too_few_identities_for_p():
    with pytest.raises(DatasetError, match=r"needs 5 identities .* only 3"):
        NaiveIdentitySampler([0] * 5 + [1] * 5 + [2] * 5, 10, 2)


def test_fewer_images_than_one_batch():
    with pytest.raises(DatasetError, match=r"only 9 training images for a batch of SOLVER.IMS_PER_BATCH 16"):
        TrainingSampler(9, 16)


def test_build_train_sampler_by_name():
    assert isinstance(build_train_sampler("BalancedIdentitySampler", PIDS, CAMS, 8, 2, seed=0), BalancedIdentitySampler)
    with pytest.raises(DatasetError, match="unknown DATALOADER.SAMPLER_TRAIN"):
        build_train_sampler("Nope", PIDS, CAMS, 8, 2, seed=0)
