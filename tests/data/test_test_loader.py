"""build_test_data: query then gallery, labels in loader order, cache on/off equality."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reidlab.data import TestBatch, build_test_data, read_dataset


def collect(test):
    return list(test.loader)


def test_query_first_then_gallery_in_order(synthetic_root, make_config):
    (test,) = build_test_data(make_config(synthetic_root))
    data = read_dataset("Market1501", synthetic_root)
    assert test.name == "Market1501"
    assert test.num_query == len(data.query) and test.num_gallery == len(data.gallery)
    assert test.pids.dtype == np.int64 and test.camids.dtype == np.int64
    assert test.pids.tolist() == [r.pid for r in data.query + data.gallery]
    assert test.paths == [r.path for r in data.query + data.gallery]
    batches = collect(test)
    assert all(isinstance(b, TestBatch) for b in batches)
    assert torch.cat([b.indices for b in batches]).tolist() == list(range(len(test.pids)))
    assert torch.cat([b.pids for b in batches]).tolist() == test.pids.tolist()
    assert batches[0].images.shape[1:] == (3, 64, 32) and batches[0].images.dtype == torch.uint8
    assert -1 not in test.pids and 0 in test.pids[test.num_query :]


def test_cache_on_and_off_give_identical_test_batches(synthetic_root, make_config):
    (on,) = build_test_data(make_config(synthetic_root, **{"DATALOADER.CACHE_IMAGES": "on", "INPUT.SIZE_TEST": [48, 24]}))
    (off,) = build_test_data(make_config(synthetic_root, **{"DATALOADER.CACHE_IMAGES": "off", "INPUT.SIZE_TEST": [48, 24]}))
    assert on.cached and not off.cached
    for a, b in zip(collect(on), collect(off), strict=True):
        assert torch.equal(a.images, b.images) and torch.equal(a.indices, b.indices)
    assert len(on.loader) == len(off.loader) == -(-len(on.pids) // 16)


def test_summary(synthetic_root, make_config):
    (test,) = build_test_data(make_config(synthetic_root))
    summary = test.summary()
    assert summary["query"]["ids"] == 8
    assert summary["gallery"]["ids"] == 9  # 8 test identities + distractors (pid 0)
    assert "evaluation data: Market1501" in test.summary_table()


@pytest.mark.parametrize("cache", ["on", "off"])
@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_shares_concatenate_to_the_whole_loader_in_order(synthetic_root, make_config, cache, world_size):
    """DDP evaluation: rank r embeds shard(r); rank 0 concatenates in rank order and must get loader order back."""
    (test,) = build_test_data(make_config(synthetic_root, **{"DATALOADER.CACHE_IMAGES": cache}))
    shares = [list(test.loader.shard(rank, world_size)) for rank in range(world_size)]
    assert all(shares), "every rank gets at least one batch"
    indices = torch.cat([b.indices for share in shares for b in share])
    assert indices.tolist() == list(range(len(test.pids)))
    whole = torch.cat([b.images for b in collect(test)])
    assert torch.equal(torch.cat([b.images for share in shares for b in share]), whole)


def test_more_processes_than_test_images_is_a_clear_error():
    from reidlab.data import DatasetError
    from reidlab.data.loaders import rank_rows

    with pytest.raises(DatasetError, match="3 evaluation images cannot be shared by 4 processes; start fewer processes"):
        rank_rows(3, 0, 4)
