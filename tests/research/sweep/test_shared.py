"""A sweep shared by worker processes through Optuna's storage: a journal file on one machine, and a real
PostgreSQL server (REIDLAB_TEST_POSTGRES, set by .ci/run) across machines, with a worker killed mid-run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from reidlab.config.loader import PACKAGED_CONFIGS
from reidlab.research.sweep import sweep
from reidlab.research.sweep.shared import CONFIG_PARAM, SharedSettings

POSTGRES = os.environ.get("REIDLAB_TEST_POSTGRES")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def write_configs(tmp_path: Path, names=("a_lr35", "b_lr50", "c_lr70")) -> Path:
    demo = (PACKAGED_CONFIGS / "Synthetic" / "demo_R18_cpu.yml").as_posix()
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in names:
        lr = int(name.split("lr")[1]) / 1e5
        (configs / f"{name}.yml").write_text(f"_BASE_: {demo}\nSOLVER:\n  BASE_LR: {lr}\n", encoding="utf-8")
    return configs


def worker(configs: Path, storage: str, study: str, overrides: list[str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "reidlab", "sweep", "--storage", storage, "--study", study, str(configs), *overrides]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)


def check_two_workers_share_the_sweep(tmp_path: Path, storage: str, tiny_overrides) -> None:
    configs, study = write_configs(tmp_path), f"sweep_{uuid.uuid4().hex[:8]}"
    overrides = tiny_overrides(tmp_path / "logs" / "base", {"SOLVER.MAX_EPOCH": 1})
    workers = [worker(configs, storage, study, overrides) for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(outputs)
    trials = optuna.load_study(study_name=study, storage=storage if "://" in storage else optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(storage))).get_trials()
    trained = [t.params[CONFIG_PARAM] for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(trained) == ["a_lr35", "b_lr50", "c_lr70"]  # each config trained exactly once
    taken = [set(re.findall(r"\[sweep\] trial \d+: (\w+) on ", out)) for out in outputs]
    assert taken[0].isdisjoint(taken[1]) and taken[0] | taken[1] == set(trained)
    assert (tmp_path / "logs" / "BEST_MODEL_SELECTION.txt").is_file()  # the last worker compared the runs
    assert any("Winner:" in out for out in outputs)


def test_two_workers_share_a_sweep_on_a_journal_file(tmp_path, tiny_overrides):
    check_two_workers_share_the_sweep(tmp_path, (tmp_path / "sweep.journal").as_posix(), tiny_overrides)


@pytest.mark.skipif(not POSTGRES, reason="REIDLAB_TEST_POSTGRES is not set (CI starts a PostgreSQL server and sets it)")
def test_two_workers_share_a_sweep_on_postgresql(tmp_path, tiny_overrides):
    check_two_workers_share_the_sweep(tmp_path, POSTGRES, tiny_overrides)


@pytest.mark.skipif(not POSTGRES, reason="REIDLAB_TEST_POSTGRES is not set (CI starts a PostgreSQL server and sets it)")
def test_a_killed_workers_remedy_is_resumed_and_finished_by_another(tmp_path, tiny_overrides):
    configs, study = write_configs(tmp_path, ("a_lr35",)), f"sweep_{uuid.uuid4().hex[:8]}"
    overrides = tiny_overrides(tmp_path / "logs" / "base", {"SOLVER.MAX_EPOCH": 3})
    doomed = worker(configs, POSTGRES, study, overrides)
    deadline = time.monotonic() + 180
    for line in doomed.stdout:  # wait for its first epoch's checkpoint
        if re.search(r"epoch 1/3", line) or time.monotonic() > deadline:
            break
    time.sleep(1)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    time.sleep(3)
    result = sweep([configs], overrides, say=lambda line: None, shared=SharedSettings(POSTGRES, study, heartbeat_s=1, lost_after_s=2))
    trials = optuna.load_study(study_name=study, storage=POSTGRES).get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert trials[0].user_attrs["stop_reason"] == "worker_lost" and trials[1].user_attrs["retry_of"] == 0
    info = json.loads((tmp_path / "logs" / "a_lr35" / "model_info.json").read_text(encoding="utf-8"))
    assert info["status"] == "finished" and len(info["resumed"]) == 1 and info["epochs_run"] == 3  # resumed, not restarted
    assert result.exit_code == 0 and result.comparison is not None


def test_asynchronous_halving_on_a_shared_sweep_and_its_status(tmp_path, tiny_overrides, capsys):
    from reidlab.cli.main import main

    configs, journal, study = write_configs(tmp_path), (tmp_path / "sweep.journal").as_posix(), "halving"
    (configs / "d_lr0.yml").write_text((configs / "a_lr35.yml").read_text(encoding="utf-8").replace("0.00035", "1.0e-9"), encoding="utf-8")
    overrides = tiny_overrides(tmp_path / "logs" / "base", {"SOLVER.MAX_EPOCH": 3, "TEST.EVAL_PERIOD": 1})
    result = sweep([configs], overrides, strategy="halving", eta=2, say=lambda line: None, shared=SharedSettings(journal, study))
    trials = optuna.load_study(study_name=study, storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))).get_trials()
    assert sorted(t.params[CONFIG_PARAM] for t in trials) == ["a_lr35", "b_lr50", "c_lr70", "d_lr0"]
    assert {t.state for t in trials} == {TrialState.COMPLETE, TrialState.PRUNED}  # d_lr0 (LR 1e-9) at least falls at a rung
    for trial in trials:
        info = json.loads((tmp_path / "logs" / trial.params[CONFIG_PARAM] / "model_info.json").read_text(encoding="utf-8"))
        if trial.state == TrialState.PRUNED:  # stopped at a rung (epochs 1, 2 = 1 * eta) by Optuna's SuccessiveHalvingPruner
            assert info["stop"]["reason"] == "pruned" and info["epochs_run"] in (1, 2)
        else:
            assert info["epochs_run"] == 3
    assert result.comparison is not None
    capsys.readouterr()
    assert main(["sweep", "--status", "--storage", journal, "--study", study]) == 0
    status = capsys.readouterr().out
    assert all(name in status for name in ("a_lr35", "b_lr50", "c_lr70", "d_lr0"))
    assert main(["sweep", "--status", "--storage", journal]) == 2  # --study missing: one line
