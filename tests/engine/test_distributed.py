"""torchrun with 2 CPU processes (gloo): a complete run directory written once, metrics close to one
process on the same data, and clean stops on patience and on SIGINT, with no process left hanging."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from reidlab.engine.distributed import SINGLE_PROCESS
from reidlab.engine.train import train

WORKER = Path(__file__).with_name("train_worker.py")
STEP_WORKER = Path(__file__).with_name("ddp_step_worker.py")
CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
# Augmentation and AMP off, so both runs see the same pixels in the same precision.
SAME_PIXELS = {"INPUT.FLIP.ENABLED": False, "INPUT.PADDING.ENABLED": False, "INPUT.REA.ENABLED": False, "SOLVER.AMP.ENABLED": False}
# 8 ids x 2 images per batch: 8 images per process, so BatchNorm statistics stay close to the whole batch's.
WHOLE_IDS = {"SOLVER.IMS_PER_BATCH": 16, "DATALOADER.NUM_INSTANCE": 2}
# With BatchNorm statistics per process (SyncBN needs CUDA), runs drift apart a little. Measured here over
# 3 epochs: mAP differs by at most 0.07 (10 queries: one rank swap moves mAP by about 0.05), CE by 2 %.
MAP_TOLERANCE = 0.10
CE_TOLERANCE = 0.05

pytestmark = pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="needs torch.distributed with gloo")


def torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]


def run_quietly(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_single_process_helpers_are_local_no_ops():
    flags = SINGLE_PROCESS.any(True, False)
    assert flags == [True, False]
    rows = torch.arange(6.0).reshape(3, 2)
    assert SINGLE_PROCESS.gather_rows(rows) is rows
    assert SINGLE_PROCESS.mean({"loss": torch.tensor(2.5), "n": 4}) == {"loss": 2.5, "n": 4.0}
    assert SINGLE_PROCESS.on_main(lambda: 7) == 7
    model = torch.nn.Linear(2, 2)
    assert SINGLE_PROCESS.wrap(model, None) is model


def test_one_ddp_step_equals_one_single_process_step_on_the_whole_batch(tmp_path, tiny_overrides):
    """With BatchNorm on its running statistics, DDP must reproduce one process exactly (plain SGD, so a gradient off by any factor shows)."""
    extra = {**SAME_PIXELS, **WHOLE_IDS, "SOLVER.OPT": "SGD", "SOLVER.MOMENTUM": 0, "SOLVER.BASE_LR": 0.01, "SOLVER.WARMUP_ITERS": 0}
    done = run_quietly(torchrun(str(STEP_WORKER), str(tmp_path), *tiny_overrides(tmp_path / "unused", extra)), timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in (0, 1):
        result = read_json(tmp_path / f"rank{rank}.json")
        assert result["same_share"], "each process must get its own slice of the global batch"
        assert result["max_change"] > 1e-3, "the step must move the weights, or the comparison proves nothing"
        assert result["max_difference"] < 1e-5, result


def test_two_processes_write_one_complete_run_close_to_a_single_process_run(tmp_path, tiny_overrides, one_torch_thread):
    extra = {**SAME_PIXELS, **WHOLE_IDS, "SOLVER.MAX_EPOCH": 3, "SOLVER.EARLY_STOP.ENABLED": False}
    single = train(CONFIG, overrides=tiny_overrides(tmp_path / "single", extra))
    assert single.stop.reason.value == "max_epochs"

    ddp = tmp_path / "ddp"
    done = run_quietly(torchrun("-m", "reidlab", "train", "--config-file", CONFIG, *tiny_overrides(ddp, extra)))
    assert done.returncode == 0, done.stdout + done.stderr

    for name in ("config.yaml", "log.txt", "training_history.json", "model_info.json", "STOPPING_REASON.txt",
                 "best_model.pth", "model_final.pth", "last_checkpoint.pth", "eval/best_per_query.npz"):
        assert (ddp / name).is_file(), name
    info = read_json(ddp / "model_info.json")
    assert info["status"] == "finished" and info["stop"]["reason"] == "max_epochs" and info["processes"] == 2
    log = (ddp / "log.txt").read_text(encoding="utf-8")
    assert log.count("epoch 1/3 ") == 1, "only rank 0 writes the log"
    assert "2 processes (torchrun), 8 images of each batch of 16 per process" in log

    one, two = read_json(tmp_path / "single" / "training_history.json"), read_json(ddp / "training_history.json")
    assert [r["epoch"] for r in two] == [1, 2, 3] and [r["iterations"] for r in two] == [r["iterations"] for r in one]
    for a, b in zip(one, two):
        assert abs(a["mAP"] - b["mAP"]) <= MAP_TOLERANCE, (a["epoch"], a["mAP"], b["mAP"])
        assert abs(a["loss_ce"] - b["loss_ce"]) <= CE_TOLERANCE * a["loss_ce"], (a["epoch"], a["loss_ce"], b["loss_ce"])


def test_patience_stops_every_process_together(tmp_path, tiny_overrides):
    run = tmp_path / "patience"
    # No gain of 1.0 mAP is possible, so the second evaluation exhausts a patience of 1.
    extra = {"SOLVER.MAX_EPOCH": 6, "SOLVER.EARLY_STOP.PATIENCE": 1, "SOLVER.EARLY_STOP.MIN_DELTA": 1.0}
    done = run_quietly(torchrun("-m", "reidlab", "train", "--config-file", CONFIG, *tiny_overrides(run, extra)), timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    info = read_json(run / "model_info.json")
    assert info["stop"]["reason"] == "patience_exhausted" and info["epochs_run"] == 2
    assert "STOPPING REASON: patience_exhausted" in (run / "STOPPING_REASON.txt").read_text(encoding="utf-8")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_to_torchrun_stops_both_processes_cleanly(tmp_path, tiny_overrides):
    run, marker = tmp_path / "interrupted", tmp_path / "marker"
    overrides = tiny_overrides(run, {"SOLVER.MAX_EPOCH": 6})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(torchrun(str(WORKER), str(marker), "2", "1", "slow", *overrides),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 180
    while not marker.exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the workers never reached the marker"
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0, output
    info = read_json(run / "model_info.json")
    assert info["status"] == "finished" and info["stop"]["reason"] == "interrupted", output
    assert (run / "last_checkpoint.pth").is_file() and (run / "model_final.pth").is_file()
    assert "--resume" in (run / "STOPPING_REASON.txt").read_text(encoding="utf-8")


def test_sync_bn_on_the_cpu_is_a_clear_error_and_a_no_op_in_one_process():
    from reidlab.config import ConfigError, load_config
    from reidlab.engine.distributed import Processes

    cfg = load_config(CONFIG, ["MODEL.BACKBONE.NORM", "syncBN"])
    model = torch.nn.Linear(2, 2)
    assert SINGLE_PROCESS.wrap(model, cfg) is model  # one process: SyncBN would equal BN
    with pytest.raises(ConfigError, match="MODEL.BACKBONE.NORM syncBN needs CUDA"):
        Processes(rank=0, world_size=2).wrap(model, cfg)


def test_sync_bn_converts_only_the_part_whose_key_asks_and_keeps_its_weights(tiny_overrides, tmp_path):
    """The conversion itself runs on the CPU (only SyncBatchNorm's forward needs CUDA)."""
    from reidlab.config import load_config
    from reidlab.engine.distributed import convert_to_sync_bn, sync_bn_parts
    from reidlab.modeling import build_model

    cfg = load_config(CONFIG, tiny_overrides(tmp_path, {"MODEL.BACKBONE.NORM": "syncBN"}))
    model = build_model(cfg, 8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    parts = sync_bn_parts(cfg)
    assert parts == {"backbone": "MODEL.BACKBONE.NORM"}
    convert_to_sync_bn(model, parts)
    kinds = lambda module: {type(m).__name__ for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    assert kinds(model.backbone) == {"SyncBatchNorm"} and kinds(model.head) == {"BatchNorm1d"}
    after = model.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(before[k], after[k]) for k in before), "checkpoints stay interchangeable"


def test_a_world_size_without_ranks_is_a_clear_error(monkeypatch):
    from reidlab.config import ConfigError
    from reidlab.engine.distributed import start_processes

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(ConfigError, match="WORLD_SIZE is 2 but RANK is not set"):
        start_processes("cpu")
