"""A real successive-halving sweep of tiny runs: pause at the rung, resume the survivor, record the failure."""

from __future__ import annotations

import json

import pytest

from reidlab.config.loader import PACKAGED_CONFIGS
from reidlab.research.sweep import sweep

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_halving_pauses_the_loser_resumes_the_survivor_and_records_a_diverged_run(tmp_path, tiny_overrides):
    demo = (PACKAGED_CONFIGS / "Synthetic" / "demo_R18_cpu.yml").as_posix()
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "a_adam.yml").write_text(f"_BASE_: {demo}\nSOLVER:\n  BASE_LR: 0.00035\n", encoding="utf-8")
    (configs / "b_tiny_lr.yml").write_text(f"_BASE_: {demo}\nSOLVER:\n  BASE_LR: 0.0000001\n", encoding="utf-8")
    (configs / "c_diverges.yml").write_text(
        f"_BASE_: {demo}\nMODEL:\n  LOSSES:\n    NAME: [CrossEntropyLoss]\nSOLVER:\n  OPT: SGD\n  BASE_LR: 1000.0\n", encoding="utf-8"
    )
    overrides = tiny_overrides(tmp_path / "logs" / "base", {"SOLVER.WARMUP_ITERS": 0})  # MAX_EPOCH 2, evaluated every epoch
    result = sweep([configs], overrides, strategy="halving", eta=2, say=lambda line: None)

    state = json.loads((tmp_path / "logs" / "sweep.json").read_text(encoding="utf-8"))
    runs = {run["name"]: run for run in state["runs"]}
    assert state["rungs"] == [1] and state["status"] == "finished"
    assert runs["c_diverges"]["status"] == "failed" and runs["c_diverges"]["stop_reason"] in ("diverged", "error")
    survivor, loser = sorted(["a_adam", "b_tiny_lr"], key=lambda n: runs[n]["stopped_at_rung"] is not None)
    assert runs[loser]["status"] == "stopped_at_rung" and runs[loser]["epochs"] == 1
    assert runs[survivor]["status"] == "finished" and runs[survivor]["epochs"] == 2 and result.winner.name == survivor

    loser_info = json.loads((tmp_path / "logs" / loser / "model_info.json").read_text(encoding="utf-8"))
    survivor_info = json.loads((tmp_path / "logs" / survivor / "model_info.json").read_text(encoding="utf-8"))
    assert loser_info["stop"]["reason"] == "paused"
    assert len(survivor_info["resumed"]) == 1  # continued from its checkpoint, not restarted
    history = json.loads((tmp_path / "logs" / survivor / "training_history.json").read_text(encoding="utf-8"))
    assert [r["epoch"] for r in history] == [1, 2] and history[1]["iterations"] == 2 * history[0]["iterations"]
    assert state["epochs_spent"] == 1 + 2 + runs["c_diverges"]["epochs"]
    assert (tmp_path / "logs" / "BEST_MODEL_SELECTION.txt").is_file()
