"""The plain "Folder" layout for a user's own data."""

from __future__ import annotations

import pytest

from reidlab.data import DatasetError, read_dataset


def make_folder(base, write_image):
    write_image(base / "train" / "0010" / "c1_0001.jpg")
    write_image(base / "train" / "0010" / "c2_0002.png")
    write_image(base / "train" / "3" / "2_a.jpg")
    write_image(base / "query" / "0101" / "c1_q.jpg")
    write_image(base / "gallery" / "0101" / "c2_g.jpg")
    write_image(base / "gallery" / "0" / "c3_distractor.jpg")
    write_image(base / "gallery" / "-1" / "c3_junk.jpg")
    return base


@pytest.mark.parametrize("where", ["Folder", "folder", "."])
def test_reads_layout(tmp_path, write_image, where):
    make_folder(tmp_path / where, write_image)
    data = read_dataset("Folder", tmp_path)
    assert sorted((r.pid, r.camid, r.path.name) for r in data.train) == [(3, 2, "2_a.jpg"), (10, 1, "c1_0001.jpg"), (10, 2, "c2_0002.png")]
    assert [(r.pid, r.camid) for r in data.query] == [(101, 1)]
    assert sorted((r.pid, r.camid) for r in data.gallery) == [(0, 3), (101, 2)]  # junk folder -1 skipped


def test_non_integer_pid_folder(tmp_path, write_image):
    base = make_folder(tmp_path / "Folder", write_image)
    write_image(base / "train" / "alice" / "c1_0001.jpg")
    with pytest.raises(DatasetError, match=r"Folder: .*alice is not named by an integer pid"):
        read_dataset("Folder", tmp_path)


def test_image_outside_pid_folders(tmp_path, write_image):
    base = make_folder(tmp_path / "Folder", write_image)
    write_image(base / "query" / "c1_loose.jpg")
    with pytest.raises(DatasetError, match=r"1 image\(s\) lie directly in .*query \(first: c1_loose.jpg\)"):
        read_dataset("Folder", tmp_path)


def test_file_name_without_camera(tmp_path, write_image):
    base = make_folder(tmp_path / "Folder", write_image)
    write_image(base / "train" / "0010" / "img.jpg")
    with pytest.raises(DatasetError, match=r"1 of 4 file names in .*train do not match the expected pattern .*c<camera>_.*first: img.jpg"):
        read_dataset("Folder", tmp_path)


def test_missing_split(tmp_path, write_image):
    write_image(tmp_path / "Folder" / "train" / "1" / "c1_a.jpg")
    with pytest.raises(DatasetError, match=r"Folder is incomplete: missing query, gallery"):
        read_dataset("Folder", tmp_path)


def test_empty_split(tmp_path, write_image):
    base = make_folder(tmp_path / "Folder", write_image)
    (base / "query" / "0101" / "c1_q.jpg").unlink()
    with pytest.raises(DatasetError, match=r"Folder: no images in .*query"):
        read_dataset("Folder", tmp_path)
