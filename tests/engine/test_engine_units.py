"""Engine building blocks: atomic writes, checkpoints, early stopping, LR schedule, run names."""

import os
import pickle
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from reidlab.config import load_config
from reidlab.engine.atomic import save_npz_atomic, write_json_atomic, write_text_atomic
from reidlab.engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from reidlab.engine.early_stopping import EarlyStopping
from reidlab.engine.lr_schedule import lr_factor
from reidlab.engine.run_dir import RunDirError, resolve_run_dir, validate_run_name


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
    evil.write_bytes(pickle.dumps(Payload()))
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


def test_early_stopping_counts_evaluations_and_min_delta():
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    assert stopper.update(0.50, 1)
    assert not stopper.update(0.505, 2)  # below min_delta: not an improvement
    assert not stopper.should_stop
    assert not stopper.update(0.40, 3)
    assert stopper.should_stop
    assert (stopper.best, stopper.best_epoch) == (0.50, 1)
    restored = EarlyStopping(patience=2)
    restored.load_state_dict(stopper.state_dict())
    assert restored == stopper


def test_disabled_early_stopping_never_stops():
    stopper = EarlyStopping(patience=1, enabled=False)
    stopper.update(0.5, 1)
    stopper.update(0.1, 2)
    assert not stopper.should_stop


def test_lr_warmup_then_multistep():
    cfg = load_config(None, ["SOLVER.WARMUP_ITERS", "10", "SOLVER.WARMUP_FACTOR", "0.1", "SOLVER.STEPS", "[2, 4]", "SOLVER.GAMMA", "0.1"])
    assert lr_factor(cfg, 0, 100) == pytest.approx(0.1)
    assert lr_factor(cfg, 5, 100) == pytest.approx(0.55)
    assert lr_factor(cfg, 10, 100) == pytest.approx(1.0)
    assert lr_factor(cfg, 199, 100) == pytest.approx(1.0)  # epoch 1
    assert lr_factor(cfg, 200, 100) == pytest.approx(0.1)  # epoch 2: first milestone
    assert lr_factor(cfg, 400, 100) == pytest.approx(0.01)


def test_lr_cosine_reaches_eta_min():
    cfg = load_config(None, ["SOLVER.SCHED", "CosineAnnealingLR", "SOLVER.WARMUP_ITERS", "0", "SOLVER.MAX_EPOCH", "10", "SOLVER.BASE_LR", "0.1", "SOLVER.ETA_MIN_LR", "0.001", "SOLVER.DELAY_EPOCHS", "2"])
    assert lr_factor(cfg, 0, 1) == pytest.approx(1.0)
    assert lr_factor(cfg, 2, 1) == pytest.approx(1.0)
    assert lr_factor(cfg, 6, 1) == pytest.approx(0.01 + 0.99 * 0.5)
    assert lr_factor(cfg, 10, 1) == pytest.approx(0.01)


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
