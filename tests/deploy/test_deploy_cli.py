"""`reidlab export / embed / match` through their argparse registration, on folders of images."""

from __future__ import annotations

import argparse
import csv
import json
import shutil

import numpy as np
import pytest

from reidlab.cli.deploy_commands import add_deploy_commands
from reidlab.deploy import DeployError


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="reidlab")
    add_deploy_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([str(a) for a in argv])
    return args.handler(args)


@pytest.fixture
def queries_with_a_broken_image(identity_folders, tmp_path):
    folder = tmp_path / "queries"
    shutil.copytree(identity_folders.query, folder)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("not an image: ignored")
    return folder


def test_embed_writes_json_csv_and_npz(trained_run, model, queries_with_a_broken_image, tmp_path, capsys):
    for suffix in ("json", "csv", "npz"):
        assert run_cli("embed", trained_run, queries_with_a_broken_image, "--out", tmp_path / f"e.{suffix}") == 0
    captured = capsys.readouterr()
    assert "skipped image broken.jpg" in captured.err and "embedded 10 images" in captured.out

    doc = json.loads((tmp_path / "e.json").read_text())
    names = [entry["image"] for entry in doc["images"]]
    assert len(names) == 10 and "broken.jpg" not in names and doc["skipped"][0]["image"] == "broken.jpg"
    vectors = np.array([entry["embedding"] for entry in doc["images"]], dtype=np.float32)
    np.testing.assert_allclose(vectors, model.embed([queries_with_a_broken_image / n for n in names]), atol=1e-6)

    with (tmp_path / "e.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["image", "e0"] and len(rows) == 11 and len(rows[1]) == 513
    np.testing.assert_array_equal(np.array(rows[1][1:], dtype=np.float32), vectors[0])

    with np.load(tmp_path / "e.npz", allow_pickle=False) as arrays:
        assert arrays["images"].tolist() == names and arrays["skipped_images"].tolist() == ["broken.jpg"]
        np.testing.assert_array_equal(arrays["embeddings"], vectors)


def test_match_writes_json_and_csv_and_can_save_the_gallery(trained_run, identity_folders, queries_with_a_broken_image, tmp_path, capsys):
    saved = tmp_path / "saved_gallery"
    common = ["--query", queries_with_a_broken_image, "--top-k", "2"]
    assert run_cli("match", trained_run, "--gallery", identity_folders.gallery, *common, "--out", tmp_path / "m.json", "--save-gallery", saved) == 0
    assert run_cli("match", trained_run, "--gallery", saved, *common, "--out", tmp_path / "m.csv") == 0
    assert "skipped query image broken.jpg" in capsys.readouterr().err

    doc = json.loads((tmp_path / "m.json").read_text())
    assert len(doc["queries"]) == 10 and doc["skipped"][0]["image"] == "broken.jpg"
    assert all(len(q["matches"]) == 2 for q in doc["queries"])
    hits = sum(q["matches"][0]["identity"] == identity_folders.pid_of(q["image"]) for q in doc["queries"])
    assert hits >= 6

    with (tmp_path / "m.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20 and rows[0]["rank"] == "1"
    from_json = [(q["image"], m["identity"]) for q in doc["queries"] for m in q["matches"]]
    assert [(r["image"], r["identity"]) for r in rows] == from_json  # the saved gallery answers as the folder did


def test_match_with_a_high_threshold_keeps_every_query_in_the_csv(trained_run, identity_folders, tmp_path):
    assert run_cli("match", trained_run, "--gallery", identity_folders.gallery, "--query", identity_folders.query, "--threshold", "1", "--out", tmp_path / "m.csv") == 0
    with (tmp_path / "m.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 and all(r["rank"] == "" and r["identity"] == "" for r in rows)


def test_export_prints_the_difference_from_pytorch(trained_run, tmp_path, capsys):
    assert run_cli("export", trained_run, "--format", "torchscript", "--out", tmp_path / "m.pt") == 0
    assert "max abs difference from PyTorch" in capsys.readouterr().out and (tmp_path / "m.pt").is_file()


def test_user_mistakes_are_deploy_errors(trained_run, identity_folders, tmp_path):
    with pytest.raises(DeployError, match="run directory not found"):
        run_cli("embed", tmp_path / "missing_run", identity_folders.query, "--out", tmp_path / "e.json")
    with pytest.raises(DeployError, match="suffix"):
        run_cli("embed", trained_run, identity_folders.query, "--out", tmp_path / "e.txt")
    with pytest.raises(DeployError, match="no images"):
        run_cli("embed", trained_run, tmp_path, "--out", tmp_path / "e.json")
    with pytest.raises(DeployError, match="gallery is empty"):
        run_cli("match", trained_run, "--gallery", identity_folders.query, "--query", identity_folders.query, "--out", tmp_path / "m.json")
    with pytest.raises(DeployError, match="top_k"):
        run_cli("match", trained_run, "--gallery", identity_folders.gallery, "--query", identity_folders.query, "--top-k", "0", "--out", tmp_path / "m.json")
