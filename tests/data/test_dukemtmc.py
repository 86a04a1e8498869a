"""DukeMTMC-reID reader."""

from __future__ import annotations

import pytest

from reidlab.data import DatasetError, read_dataset


def test_reads_duke_layout_and_names(tmp_path, write_image):
    base = tmp_path / "DukeMTMC-reID"
    write_image(base / "bounding_box_train" / "0001_c2_f0046182.jpg")
    write_image(base / "bounding_box_train" / "0001_c8_f0050000.jpg")
    write_image(base / "query" / "0005_c1_f0011111.jpg")
    write_image(base / "bounding_box_test" / "0005_c3_f0012345.jpg")
    write_image(base / "bounding_box_test" / "0000_c3_f0012346.jpg")
    data = read_dataset("DukeMTMC", tmp_path)
    assert [(r.pid, r.camid) for r in data.train] == [(1, 1), (1, 7)]
    assert [(r.pid, r.camid) for r in data.query] == [(5, 0)]
    assert sorted(r.pid for r in data.gallery) == [0, 5]


def test_torchreid_nested_layout(tmp_path, write_image):
    base = tmp_path / "dukemtmcreid" / "DukeMTMC-reID"
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        write_image(base / split / "0001_c2_f0046182.jpg")
    assert read_dataset("DukeMTMC", tmp_path).location == base


def test_missing_duke_points_at_root_and_synthetic_data(tmp_path):
    with pytest.raises(DatasetError, match=r"DukeMTMC: data set not found.*DukeMTMC-reID.*DATASETS.ROOT.*reidlab data synth"):
        read_dataset("DukeMTMC", tmp_path)


def test_bad_duke_name(tmp_path, write_image):
    base = tmp_path / "DukeMTMC-reID"
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        write_image(base / split / "0001_c2_f0046182.jpg")
    write_image(base / "query" / "frame_0001.jpg")
    with pytest.raises(DatasetError, match=r"1 of 2 file names .*query do not match the expected pattern .*0001_c2_f0046182.jpg.*first: frame_0001.jpg"):
        read_dataset("DukeMTMC", tmp_path)
