"""The run-folder layer: atomic writes (file and folder fsync), checkpoints, run names, the model_info and history readers."""

import json
import os
import pickle
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import reidlab.rundir.atomic as atomic_module
from reidlab.config import load_config
from reidlab.rundir import (
    CheckpointError,
    RunDirError,
    hyperparameters,
    load_checkpoint,
    read_history,
    read_model_info,
    resolve_run_dir,
    save_checkpoint,
    save_npz_atomic,
    validate_run_name,
    write_json_atomic,
    write_text_atomic,
)


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    write_text_atomic(target, "old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_atomic_writes_get_the_mode_a_plain_open_would_give(tmp_path):
    """mkstemp's 0600 would hide runs on a shared server from everyone but their owner."""
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = write_text_atomic(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_atomic_write_keeps_old_file_when_serialisation_fails(tmp_path):
    target = tmp_path / "info.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": object()})
    assert target.read_text().strip().startswith("{")
    assert '"a": 1' in target.read_text()


def test_json_writes_non_finite_as_null(tmp_path):
    target = write_json_atomic(tmp_path / "h.json", [{"loss": float("nan"), "x": np.float32("inf"), "y": np.float64(1.5)}])
    assert target.read_text().replace(" ", "").replace("\n", "") == '[{"loss":null,"x":null,"y":1.5}]'


def test_npz_round_trip(tmp_path):
    save_npz_atomic(tmp_path / "eval" / "q.npz", {"ap": np.arange(3.0)})
    with np.load(tmp_path / "eval" / "q.npz") as data:
        assert data["ap"].tolist() == [0.0, 1.0, 2.0]


def test_checkpoint_round_trip_and_refusals(tmp_path):
    path = save_checkpoint(tmp_path / "best_model.pth", "best", model={"w": torch.ones(2)}, epoch=3)
    data = load_checkpoint(path)
    assert data["kind"] == "best" and data["epoch"] == 3 and torch.equal(data["model"]["w"], torch.ones(2))

    foreign = tmp_path / "foreign.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}}, foreign)
    with pytest.raises(CheckpointError, match="not a reidlab checkpoint"):
        load_checkpoint(foreign)

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps(Payload(), protocol=2))
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(evil)

    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError):
        load_checkpoint(truncated)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pth")


@pytest.mark.parametrize("name", ["../escape", "a/b", "a\\b", "..", "", "bad:name", " spaced"])
def test_run_names_that_escape_are_refused(name):
    with pytest.raises(RunDirError, match="single folder name"):
        validate_run_name(name)


def test_run_dir_resolution():
    cfg = load_config("configs/Market1501/bagtricks_R50.yml")
    assert resolve_run_dir(cfg, "solution_1", None) == Path("logs/market1501/solution_1")
    assert resolve_run_dir(cfg, None, None) == Path("logs/market1501/bagtricks_R50")
    bare = load_config(None)
    assert resolve_run_dir(bare, None, "x/my_exp.yml") == Path("logs/market1501/my_exp")

def test_the_rename_is_made_durable_by_an_fsync_of_the_folder(tmp_path, monkeypatch):
    """A rename lives in the folder's entry: without a folder fsync a power cut can undo it."""
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}") if sys.platform.startswith("linux") else fd)
        return real_fsync(fd)

    monkeypatch.setattr(atomic_module.os, "fsync", recording_fsync)
    write_text_atomic(tmp_path / "run" / "model_info.json", "{}")
    assert len(synced) == 2, synced  # the file, then its folder
    if sys.platform.startswith("linux"):
        assert synced[1] == str((tmp_path / "run").resolve())


def test_history_reader_keeps_what_it_can_and_says_what_it_dropped(tmp_path):
    records = [{"epoch": 1, "loss": 2.5, "mAP": float("nan")}, {"loss": 1.0}, "junk", {"epoch": 2.0, "loss": True}]
    (tmp_path / "training_history.json").write_text(json.dumps(records), encoding="utf-8")
    history, problems = read_history(tmp_path)
    assert history == [{"epoch": 1, "loss": 2.5, "mAP": None}, {"epoch": 2, "loss": None}]
    assert problems == ["training_history.json: 2 damaged records skipped"]
    (tmp_path / "training_history.json").write_text("{not json", encoding="utf-8")
    assert read_history(tmp_path)[0] == [] and "not valid JSON" in read_history(tmp_path)[1][0]
    assert read_history(tmp_path / "absent") == ([], ["training_history.json is missing"])


def test_model_info_reader_refuses_what_is_not_an_object(tmp_path):
    assert read_model_info(tmp_path) == (None, "model_info.json is missing")
    (tmp_path / "model_info.json").write_text("[1, 2]", encoding="utf-8")
    assert read_model_info(tmp_path) == (None, "model_info.json is damaged (not a JSON object)")
    (tmp_path / "model_info.json").write_text('{"status": "running"}', encoding="utf-8")
    assert read_model_info(tmp_path) == ({"status": "running"}, None)


def test_hyperparameters_are_read_from_the_config():
    cfg = load_config("configs/Market1501/bagtricks_R50.yml", ["SOLVER.BASE_LR", "0.0007"])
    values = hyperparameters(cfg)
    assert values["SOLVER.BASE_LR"] == 0.0007 and values["MODEL.BACKBONE.DEPTH"] == "50x"


def test_reading_the_contract_imports_no_torch():
    """compare and diagnose read run folders; torch is loaded only to save or load a checkpoint."""
    import subprocess

    code = "import sys, reidlab.rundir; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
