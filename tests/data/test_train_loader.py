"""build_train_data: batches, relabelling, cache on/off equality, epochs, multi-data-set offsets, errors."""

from __future__ import annotations

import shutil

import pytest
import torch

from reidlab.data import CorruptImagesSkipped, DatasetError, TrainBatch, build_train_data, read_dataset

AUGMENT = {"INPUT.FLIP.ENABLED": True, "INPUT.PADDING.ENABLED": True, "INPUT.PADDING.SIZE": 4, "INPUT.REA.ENABLED": True}


def epoch_batches(data, epoch):
    data.loader.set_epoch(epoch)
    return list(data.loader)


def test_batches_are_uint8_images_with_relabelled_targets(synthetic_root, make_config):
    data = build_train_data(make_config(synthetic_root, **AUGMENT))
    assert data.num_classes == 12 and data.num_images == 72 and data.num_cameras == 4
    assert len(data.loader) == 72 // 8
    batches = epoch_batches(data, 0)
    assert len(batches) == len(data.loader)
    first = batches[0]
    assert isinstance(first, TrainBatch)
    assert first.images.shape == (8, 3, 64, 32) and first.images.dtype == torch.uint8
    assert first.targets.dtype == torch.int64 and first.camids.dtype == torch.int64
    all_targets = torch.cat([b.targets for b in batches])
    assert all_targets.min() >= 0 and all_targets.max() < 12
    assert sorted({r.pid for r in data.records}) == list(range(12))
    assert sorted({r.camid for r in data.records}) == list(range(4))


def test_relabelling_is_sorted_and_consistent(synthetic_root, make_config):
    data = build_train_data(make_config(synthetic_root))
    original = read_dataset("Market1501", synthetic_root).train
    mapping = {}
    for before, after in zip(original, data.records):
        assert before.path == after.path
        mapping.setdefault(before.pid, after.pid)
        assert mapping[before.pid] == after.pid
    assert list(mapping.values()) == sorted(mapping.values())  # sorted original pids -> 0..N-1 in order


def test_cache_on_and_off_give_identical_batches(synthetic_root, make_config):
    cached = build_train_data(make_config(synthetic_root, **AUGMENT, **{"DATALOADER.CACHE_IMAGES": "on"}), seed=7)
    streamed = build_train_data(make_config(synthetic_root, **AUGMENT, **{"DATALOADER.CACHE_IMAGES": "off"}), seed=7)
    assert cached.cached and not streamed.cached
    for epoch in (0, 1):
        for a, b in zip(epoch_batches(cached, epoch), epoch_batches(streamed, epoch), strict=True):
            assert torch.equal(a.images, b.images) and torch.equal(a.targets, b.targets) and torch.equal(a.camids, b.camids)


def test_streaming_workers_under_spawn_match_the_cache(synthetic_root, make_config):
    cfg = make_config(synthetic_root, **AUGMENT, **{"DATALOADER.CACHE_IMAGES": "off", "DATALOADER.NUM_WORKERS": 1, "SOLVER.IMS_PER_BATCH": 24})
    streamed = build_train_data(cfg, seed=1, multiprocessing_context="spawn")
    cached = build_train_data(make_config(synthetic_root, **AUGMENT, **{"SOLVER.IMS_PER_BATCH": 24}), seed=1)
    for a, b in zip(epoch_batches(streamed, 2), epoch_batches(cached, 2), strict=True):
        assert torch.equal(a.images, b.images) and torch.equal(a.targets, b.targets)


def test_epochs_differ_and_repeat_exactly(synthetic_root, make_config):
    data = build_train_data(make_config(synthetic_root, **AUGMENT))
    first = epoch_batches(data, 3)
    again = epoch_batches(data, 3)
    other = epoch_batches(data, 4)
    assert all(torch.equal(a.images, b.images) for a, b in zip(first, again))
    assert not all(torch.equal(a.targets, b.targets) for a, b in zip(first, other))
    state = data.loader.state_dict()
    fresh = build_train_data(make_config(synthetic_root, **AUGMENT))
    fresh.loader.load_state_dict(state)
    assert all(torch.equal(a.images, b.images) for a, b in zip(other, list(fresh.loader)))


def test_identity_batches_hold_p_ids_of_k(synthetic_root, make_config):
    data = build_train_data(make_config(synthetic_root, **{"SOLVER.IMS_PER_BATCH": 12, "DATALOADER.NUM_INSTANCE": 3}))
    for batch in epoch_batches(data, 0):
        assert len(set(batch.targets.tolist())) == 4
        assert all(len(set(batch.targets[i : i + 3].tolist())) == 1 for i in range(0, 12, 3))


def test_training_sampler_epoch_length(synthetic_root, make_config):
    data = build_train_data(make_config(synthetic_root, **{"DATALOADER.SAMPLER_TRAIN": "TrainingSampler", "SOLVER.IMS_PER_BATCH": 10}))
    assert len(data.loader) == 72 // 10


@pytest.mark.parametrize(("overrides", "message"), [
    ({"SOLVER.IMS_PER_BATCH": 10, "DATALOADER.NUM_INSTANCE": 4}, r"IMS_PER_BATCH 10 is not divisible by DATALOADER.NUM_INSTANCE 4"),
    ({"SOLVER.IMS_PER_BATCH": 64, "DATALOADER.NUM_INSTANCE": 4}, r"needs 16 identities .* has only 12"),
])
def test_batch_that_does_not_fit(synthetic_root, make_config, overrides, message):
    with pytest.raises(DatasetError, match=message):
        build_train_data(make_config(synthetic_root, **overrides))


def test_corrupt_training_images_are_skipped_and_counted(tmp_path, synthetic_root, make_config):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_root, root)
    train_dir = root / "Market-1501-v15.09.15" / "bounding_box_train"
    victims = sorted(train_dir.iterdir())[:2]
    victims[0].write_bytes(b"broken")
    victims[1].write_bytes(victims[1].read_bytes()[:100])
    with pytest.warns(CorruptImagesSkipped, match=r"skipped 2 corrupt image\(s\) of 72"):
        data = build_train_data(make_config(root))
    assert data.skipped_corrupt == 2 and data.num_images == 70
    assert data.summary()["skipped_corrupt"] == 2
    assert all(r.path not in victims for r in data.records)


def test_several_data_sets_are_concatenated_with_offsets(tmp_path, synthetic_root, make_config, write_image):
    base = tmp_path / "Folder"
    for pid in (5, 9):
        for cam in (1, 2):
            write_image(base / "train" / str(pid) / f"c{cam}_x.jpg", seed=pid * 10 + cam)
    write_image(base / "query" / "1" / "c1_q.jpg")
    write_image(base / "gallery" / "1" / "c2_g.jpg")
    shutil.copytree(synthetic_root / "Market-1501-v15.09.15", tmp_path / "Market-1501-v15.09.15")
    data = build_train_data(make_config(tmp_path, **{"DATASETS.NAMES": ["Market1501", "Folder"]}))
    assert data.num_classes == 14 and data.num_cameras == 6 and data.num_images == 76
    folder_records = data.records[72:]
    assert [(r.pid, r.camid) for r in folder_records] == [(12, 4), (12, 5), (13, 4), (13, 5)]
    summary = data.summary()
    assert summary["datasets"] == ["Market1501", "Folder"]
    assert summary["train"] == {"ids": 14, "images": 76, "cameras": 6}
    assert "Market1501 + Folder" in data.summary_table()


def test_duplicate_names_are_refused(synthetic_root, make_config):
    with pytest.raises(DatasetError, match="lists a data set twice"):
        build_train_data(make_config(synthetic_root, **{"DATASETS.NAMES": ["Market1501", "Market1501"]}))


def test_summary_table_like_fast_reid(synthetic_root, make_config):
    data = build_train_data(make_config(synthetic_root))
    table = data.summary_table()
    assert "# ids" in table and "# images" in table and "# cameras" in table
    assert data.summary()["query"]["ids"] == 8


def test_batch_assembly_leaves_torch_thread_count_alone(synthetic_root, make_config):
    data = build_train_data(make_config(synthetic_root, **AUGMENT))
    before = torch.get_num_threads()
    data.loader.set_epoch(0)
    for _ in data.loader:
        assert torch.get_num_threads() == before  # the consumer (the model) keeps its threads
    assert torch.get_num_threads() == before
