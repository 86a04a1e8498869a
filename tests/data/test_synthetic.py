"""The synthetic data set: Market layout and names, evaluation validity, determinism, safety."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from reidlab.data import DatasetError, read_dataset, synth_main, write_synthetic_dataset
from reidlab.data.synthetic.writer import MARKER_FILE

MARKET_NAME = re.compile(r"^(-1|\d{4})_c(\d)s1_(\d{6})_01\.jpg$")


def test_writes_exact_market_layout_and_names(synthetic_root, synthetic_params):
    base = synthetic_root / "Market-1501-v15.09.15"
    assert sorted(p.name for p in base.iterdir()) == sorted(["bounding_box_train", "bounding_box_test", "query", MARKER_FILE])
    names = [p.name for folder in ("bounding_box_train", "bounding_box_test", "query") for p in (base / folder).iterdir()]
    assert all(MARKET_NAME.match(n) for n in names), [n for n in names if not MARKET_NAME.match(n)][:3]
    assert len(names) == len(set(names))
    gallery = [p.name for p in (base / "bounding_box_test").iterdir()]
    assert sum(n.startswith("0000_") for n in gallery) == synthetic_params["num_distractors"]
    assert sum(n.startswith("-1_") for n in gallery) == synthetic_params["num_junk"]


def test_train_and_test_identities_are_disjoint(synthetic_root, synthetic_params):
    data = read_dataset("Market1501", synthetic_root)
    train_ids = {r.pid for r in data.train}
    test_ids = {r.pid for r in data.query}
    assert len(train_ids) == synthetic_params["num_train_ids"] and len(test_ids) == synthetic_params["num_test_ids"]
    assert not train_ids & test_ids
    assert len(data.train) == synthetic_params["num_train_ids"] * synthetic_params["images_per_id"]


def test_every_query_has_a_cross_camera_match(synthetic_root):
    data = read_dataset("Market1501", synthetic_root)
    cameras_in_gallery = defaultdict(set)
    for r in data.gallery:
        cameras_in_gallery[r.pid].add(r.camid)
    for q in data.query:
        assert cameras_in_gallery[q.pid] - {q.camid}, f"query {q.path.name} has no match in another camera"
    for pid in {r.pid for r in data.query}:
        seen = {r.camid for r in data.query + data.gallery if r.pid == pid}
        assert len(seen) >= 2


def test_deterministic_for_a_seed_and_different_across_seeds(tmp_path):
    small = dict(num_train_ids=3, num_test_ids=2, images_per_id=3, num_cameras=3, num_distractors=1, num_junk=1)
    a = write_synthetic_dataset(tmp_path / "a", seed=5, **small)
    b = write_synthetic_dataset(tmp_path / "b", seed=5, **small)
    c = write_synthetic_dataset(tmp_path / "c", seed=6, **small)

    def contents(made):
        return {p.relative_to(made.dataset_dir).as_posix(): p.read_bytes() for p in made.dataset_dir.rglob("*.jpg")}

    assert contents(a) == contents(b)
    assert contents(a) != contents(c)


def test_rewrite_is_a_no_op_with_same_params_and_replaces_with_new_ones(tmp_path):
    small = dict(num_train_ids=3, num_test_ids=2, images_per_id=3, num_cameras=3, num_distractors=0, num_junk=0)
    first = write_synthetic_dataset(tmp_path, **small)
    stamp = (first.dataset_dir / MARKER_FILE).stat().st_mtime_ns
    again = write_synthetic_dataset(tmp_path, **small)
    assert (again.dataset_dir / MARKER_FILE).stat().st_mtime_ns == stamp
    assert again == first
    bigger = write_synthetic_dataset(tmp_path, **{**small, "num_train_ids": 4})
    assert len(list((bigger.dataset_dir / "bounding_box_train").iterdir())) == 12


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "Market-1501-v15.09.15").mkdir()
    (tmp_path / "Market-1501-v15.09.15" / "real.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match=r"already exists and was not written by `reidlab data synth`"):
        write_synthetic_dataset(tmp_path, num_train_ids=2, num_test_ids=2, images_per_id=2)
    assert (tmp_path / "Market-1501-v15.09.15" / "real.jpg").exists()


@pytest.mark.parametrize(("kwargs", "message"), [({"num_cameras": 1}, "num_cameras >= 2"), ({"images_per_id": 1}, "images_per_id >= 2")])
def test_rejects_impossible_parameters(tmp_path, kwargs, message):
    with pytest.raises(DatasetError, match=message):
        write_synthetic_dataset(tmp_path, **kwargs)


def test_synth_main_returns_the_root_the_market_reader_accepts(tmp_path, capsys):
    root = synth_main(tmp_path / "out", num_train_ids=2, num_test_ids=2, images_per_id=2, num_distractors=1, num_junk=1, height=64, width=32)
    assert root == tmp_path / "out"
    assert "DATASETS.ROOT" in capsys.readouterr().out
    data = read_dataset("Market1501", root)
    assert len(data.train) == 4
