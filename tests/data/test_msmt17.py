"""MSMT17 reader: list files, train+val merged, camera from the file name, list errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reidlab.data import DatasetError, read_dataset


def make_msmt(root: Path, write_image, version: str = "MSMT17_V1", dirs: tuple[str, str] = ("train", "test"), lists: dict | None = None) -> Path:
    base = root / version
    lists = lists or {
        "list_train.txt": ["0000/0000_000_01_0303morning_0015_0.jpg 0", "0001/0001_003_05_0303noon_0100_1.jpg 1"],
        "list_val.txt": ["0002/0002_001_15_0304afternoon_0001_0.jpg 2"],
        "list_query.txt": ["0007/0007_000_02_0113morning_0022_0.jpg 7"],
        "list_gallery.txt": ["0007/0007_004_09_0113noon_0002_1.jpg 7", "0008/0008_000_03_0113noon_0003_0.jpg 8"],
    }
    for list_name, lines in lists.items():
        image_dir = base / (dirs[0] if list_name in ("list_train.txt", "list_val.txt") else dirs[1])
        for line in lines:
            fields = line.split()
            if len(fields) == 2:
                write_image(image_dir / fields[0])
        (base / list_name).parent.mkdir(parents=True, exist_ok=True)
        (base / list_name).write_text("\n".join(lines) + "\n")
    (base / dirs[0]).mkdir(parents=True, exist_ok=True)
    (base / dirs[1]).mkdir(parents=True, exist_ok=True)
    return base


def test_reads_lists_merging_train_and_val(tmp_path, write_image):
    base = make_msmt(tmp_path, write_image)
    data = read_dataset("MSMT17", tmp_path)
    assert [(r.pid, r.camid) for r in data.train] == [(0, 0), (1, 4), (2, 14)]
    assert data.train[0].path == base / "train" / "0000" / "0000_000_01_0303morning_0015_0.jpg"
    assert [(r.pid, r.camid) for r in data.query] == [(7, 1)]
    assert [(r.pid, r.camid) for r in data.gallery] == [(7, 8), (8, 2)]
    assert data.gallery[0].path.parent.parent == base / "test"


def test_reads_v2_layout(tmp_path, write_image):
    make_msmt(tmp_path / "msmt17", write_image, version="MSMT17_V2", dirs=("mask_train_v2", "mask_test_v2"))
    assert len(read_dataset("MSMT17", tmp_path).train) == 3


def test_missing_msmt(tmp_path):
    with pytest.raises(DatasetError, match=r"MSMT17: data set not found.*MSMT17_V1.*DATASETS.ROOT.*reidlab data synth"):
        read_dataset("MSMT17", tmp_path)


def test_missing_list_file(tmp_path, write_image):
    base = make_msmt(tmp_path, write_image)
    (base / "list_gallery.txt").unlink()
    with pytest.raises(DatasetError, match=r"MSMT17_V1 is incomplete: missing list_gallery.txt"):
        read_dataset("MSMT17", tmp_path)


def test_malformed_line_names_file_and_line(tmp_path, write_image):
    base = make_msmt(tmp_path, write_image)
    (base / "list_query.txt").write_text("0007/0007_000_02_0113morning_0022_0.jpg 7\n\nonly-a-path.jpg\n")
    with pytest.raises(DatasetError, match=r"list_query.txt line 3: expected '<relative path> <pid>', got 'only-a-path.jpg'"):
        read_dataset("MSMT17", tmp_path)


def test_listed_file_missing(tmp_path, write_image):
    base = make_msmt(tmp_path, write_image)
    (base / "train" / "0001" / "0001_003_05_0303noon_0100_1.jpg").unlink()
    with pytest.raises(DatasetError, match=r"1 of 2 images listed in .*list_train.txt are missing .*first: .*0001_003_05"):
        read_dataset("MSMT17", tmp_path)


def test_name_without_camera(tmp_path, write_image):
    base = make_msmt(tmp_path, write_image)
    write_image(base / "test" / "0009" / "photo.jpg")
    (base / "list_gallery.txt").write_text("0009/photo.jpg 9\n0007/0007_004_09_0113noon_0002_1.jpg 7\n")
    with pytest.raises(DatasetError, match=r"1 of 2 file names in .*list_gallery.txt do not match .*first: photo.jpg"):
        read_dataset("MSMT17", tmp_path)
