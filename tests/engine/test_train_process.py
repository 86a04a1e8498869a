"""Training as a separate process: Ctrl-C / SIGTERM end cleanly, and kill -9 then --resume reproduces a straight run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reidlab.engine.train import train

WORKER = Path(__file__).with_name("train_worker.py")
TIMING_KEYS = {"train_seconds", "images_per_second", "eval_seconds"}


def start_worker(marker: Path, epoch: int, step: int, mode: str, overrides: list[str], new_session: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), str(marker), str(epoch), str(step), mode, *overrides],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=new_session)


def wait_for(marker: Path, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"worker ended early:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("worker never reached the marker")
        time.sleep(0.1)


def without_timings(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k not in TIMING_KEYS} for record in history]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_a_checkpoint_writes_the_reason_and_exits_non_zero(tmp_path, tiny_overrides, signum):
    run = tmp_path / "run"
    marker = tmp_path / "marker"
    process = start_worker(marker, 2, 1, "slow", tiny_overrides(run, {"SOLVER.MAX_EPOCH": 5}))
    wait_for(marker, process)
    process.send_signal(signum)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    info = json.loads((run / "model_info.json").read_text())
    assert info["stop"]["reason"] == "interrupted" and signal.Signals(signum).name in info["stop"]["message"]
    assert (run / "last_checkpoint.pth").is_file() and (run / "model_final.pth").is_file()
    text = (run / "STOPPING_REASON.txt").read_text()
    assert "STOPPING REASON: interrupted" in text and "--resume" in text


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
def test_sigterm_to_the_whole_process_group_with_loader_workers_is_an_interruption(tmp_path, tiny_overrides):
    """timeout, SLURM and a closing terminal signal every process: the loader's workers must leave it to the trainer."""
    run = tmp_path / "run"
    marker = tmp_path / "marker"
    extra = {"SOLVER.MAX_EPOCH": 5, "DATALOADER.CACHE_IMAGES": "off", "DATALOADER.NUM_WORKERS": 2}
    process = start_worker(marker, 2, 1, "slow", tiny_overrides(run, extra), new_session=True)
    wait_for(marker, process)
    os.killpg(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert json.loads((run / "model_info.json").read_text())["stop"]["reason"] == "interrupted", output


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_then_resume_matches_a_straight_run_to_the_last_digit(tmp_path, tiny_overrides):
    extra = {"SOLVER.MAX_EPOCH": 3, "SOLVER.EARLY_STOP.ENABLED": False}
    straight = tmp_path / "straight"
    train("configs/Synthetic/demo_R18_cpu.yml", overrides=tiny_overrides(straight, extra))

    killed = tmp_path / "killed"
    marker = tmp_path / "marker"
    process = start_worker(marker, 2, 1, "hold", tiny_overrides(killed, extra))
    wait_for(marker, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert json.loads((killed / "model_info.json").read_text())["status"] == "running"

    result = train("configs/Synthetic/demo_R18_cpu.yml", overrides=tiny_overrides(killed, extra), resume=True)
    assert result.stop.reason.value == "max_epochs"
    expected = json.loads((straight / "training_history.json").read_text())
    resumed = json.loads((killed / "training_history.json").read_text())
    assert len(resumed) == 3
    assert without_timings(resumed) == without_timings(expected)
