"""The name -> reader registry and the relabelling helper."""

from __future__ import annotations

from pathlib import Path

import pytest

from reidlab.data import DatasetError, ImageRecord, dataset_names, read_dataset, relabel_train


def test_config_names_are_registered():
    assert set(dataset_names()) >= {"Market1501", "DukeMTMC", "MSMT17", "Folder"}


def test_unknown_name(tmp_path):
    with pytest.raises(DatasetError, match=r"unknown data set 'CUHK03'.*known: .*Market1501"):
        read_dataset("CUHK03", tmp_path)


def test_relabel_train_sorted_with_offsets():
    records = [ImageRecord(Path(f"{i}.jpg"), pid, cam) for i, (pid, cam) in enumerate([(30, 5), (7, 2), (30, 2), (12, 9)])]
    relabelled, num_pids, num_cams = relabel_train(records, pid_offset=100, camid_offset=10)
    assert [(r.pid, r.camid) for r in relabelled] == [(102, 11), (100, 10), (102, 10), (101, 12)]
    assert (num_pids, num_cams) == (3, 3)
    assert [r.path for r in relabelled] == [r.path for r in records]
