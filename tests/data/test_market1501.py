"""Market-1501 reader: layouts, junk / distractors, camera parsing, and every bad-input error."""

from __future__ import annotations

from pathlib import Path

import pytest

from reidlab.data import DatasetError, read_dataset
from reidlab.data.datasets.market1501 import MARKET_FOLDER


def make_market(base: Path, write_image, extra: dict[str, list[str]] | None = None) -> Path:
    files = {
        "bounding_box_train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000551_01.jpg", "0007_c6s2_001234_02.jpg"],
        "query": ["0005_c1s1_001051_00.jpg", "0005_c3s1_001055_00.jpg"],
        "bounding_box_test": ["0005_c2s1_000976_01.jpg", "0000_c4s2_000100_01.jpg", "-1_c1s1_000401_03.jpg"],
    }
    for split, names in (extra or {}).items():
        files[split] = files[split] + names
    for split, names in files.items():
        (base / split).mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            write_image(base / split / name, seed=i)
    return base


@pytest.mark.parametrize("layout", [MARKET_FOLDER, f"market1501/{MARKET_FOLDER}", "market1501", "."])
def test_reads_every_supported_layout(tmp_path, write_image, layout):
    make_market(tmp_path / layout, write_image)
    data = read_dataset("Market1501", tmp_path)
    assert data.location == tmp_path / layout
    assert [(r.path.name, r.pid, r.camid) for r in data.train] == [
        ("0002_c1s1_000451_03.jpg", 2, 0),
        ("0002_c2s1_000551_01.jpg", 2, 1),
        ("0007_c6s2_001234_02.jpg", 7, 5),
    ]
    assert [(r.pid, r.camid) for r in data.query] == [(5, 0), (5, 2)]


def test_junk_is_dropped_and_distractors_stay(tmp_path, write_image):
    make_market(tmp_path / MARKET_FOLDER, write_image)
    data = read_dataset("Market1501", tmp_path)
    assert sorted(r.pid for r in data.gallery) == [0, 5]
    assert all(r.pid != -1 for split in (data.train, data.query, data.gallery) for r in split)


def test_non_image_files_are_ignored(tmp_path, write_image):
    base = make_market(tmp_path / MARKET_FOLDER, write_image)
    (base / "bounding_box_test" / "Thumbs.db").write_bytes(b"\x00\x01")
    (base / "query" / "readme.txt").write_text("hello")
    assert len(read_dataset("Market1501", tmp_path).gallery) == 2


def test_reads_the_synthetic_set(synthetic_root):
    data = read_dataset("Market1501", synthetic_root)
    assert len({r.pid for r in data.train}) == 12
    assert len({r.pid for r in data.query}) == 8
    assert {r.camid for r in data.train} <= {0, 1, 2, 3}


def test_missing_data_set_names_where_it_looked_and_the_fixes(tmp_path):
    with pytest.raises(DatasetError) as info:
        read_dataset("Market1501", tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / MARKET_FOLDER) in message
    assert "DATASETS.ROOT" in message and "reidlab data synth --out DIR" in message


def test_missing_root_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"DATASETS.ROOT folder .*nowhere does not exist.*reidlab data synth"):
        read_dataset("Market1501", tmp_path / "nowhere")


def test_incomplete_data_set_folder(tmp_path, write_image):
    write_image(tmp_path / MARKET_FOLDER / "bounding_box_train" / "0002_c1s1_000451_03.jpg")
    with pytest.raises(DatasetError, match=r"incomplete: missing query, bounding_box_test"):
        read_dataset("Market1501", tmp_path)


def test_empty_split_folder(tmp_path, write_image):
    base = make_market(tmp_path / MARKET_FOLDER, write_image)
    for file in (base / "query").iterdir():
        file.unlink()
    with pytest.raises(DatasetError) as info:
        read_dataset("Market1501", tmp_path)
    assert f"no images in {base / 'query'}" in str(info.value)
    assert "0002_c1s1_000451_03.jpg" in str(info.value)


def test_bad_file_names_fail_with_count_first_example_and_pattern(tmp_path, write_image):
    make_market(tmp_path / MARKET_FOLDER, write_image, extra={"bounding_box_train": ["IMG_0001.jpg", "person_c1.jpg", "0003_c0s1_000001_01.jpg"]})
    with pytest.raises(DatasetError) as info:
        read_dataset("Market1501", tmp_path)
    message = str(info.value)
    assert "3 of 6 file names" in message
    assert "first: 0003_c0s1_000001_01.jpg" in message  # sorted order; camera 0 is not a 1-based camera
    assert "0002_c1s1_000451_03.jpg" in message  # the expected pattern, by example
