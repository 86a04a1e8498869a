"""Searches shared by worker processes on a real PostgreSQL server (Optuna's RDBStorage).

REIDLAB_TEST_POSTGRES holds the database URL (.ci/run starts Debian's PostgreSQL on 127.0.0.1,
creates the database and sets it); without it these tests skip. Each test uses a study name of its own.
"""

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

from reidlab.research.search import SearchSettings, run_search

URL = os.environ.get("REIDLAB_TEST_POSTGRES")
pytestmark = pytest.mark.skipif(not URL, reason="REIDLAB_TEST_POSTGRES is not set (CI starts a PostgreSQL server and sets it)")
TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
SPACE = "SOLVER.BASE_LR: {low: 1.0e-4, high: 1.0e-3, log: true}\nMODEL.LOSSES.TRI.SCALE: {choices: [0.5, 1.0]}\n"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def search_command(tmp_path: Path, study: str, trials: int, overrides: list[str]) -> list[str]:
    space = tmp_path / "space.yml"
    space.write_text(SPACE, encoding="utf-8")
    return [sys.executable, "-m", "reidlab", "search", "--config-file", TINY_CONFIG, "--space", space.as_posix(), "--trials", str(trials),
            "--study", study, "--storage", URL, "--pruner", "none", "--no-report", *overrides]


def trials_of(study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=URL).get_trials()


def test_two_workers_share_a_search_on_postgresql(tmp_path, tiny_overrides):
    study = f"pg_{uuid.uuid4().hex[:8]}"
    command = search_command(tmp_path, study, 3, tiny_overrides(tmp_path / "logs" / study, {"SOLVER.MAX_EPOCH": 1}))
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV) for _ in range(2)]
    outputs = [worker.communicate(timeout=240)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(outputs)
    trials = trials_of(study)
    assert 3 <= len(trials) <= 4 and all(t.state == TrialState.COMPLETE for t in trials)
    started = [{int(n) for n in re.findall(r"\[search\] trial (\d+): starting", out)} for out in outputs]
    assert started[0].isdisjoint(started[1]) and started[0] | started[1] == {t.number for t in trials}  # nothing trained twice
    assert all(started), "each worker took a trial"


def test_a_killed_workers_trial_is_failed_and_another_worker_resumes_it(tmp_path, tiny_overrides):
    study = f"pg_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "logs" / study
    overrides = tiny_overrides(folder, {"SOLVER.MAX_EPOCH": 3})
    doomed = subprocess.Popen(search_command(tmp_path, study, 1, overrides), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    deadline = time.monotonic() + 180
    for line in doomed.stdout:  # wait for its first epoch's checkpoint
        if re.search(r"epoch 1/3", line) or time.monotonic() > deadline:
            break
    time.sleep(1)
    doomed.send_signal(signal.SIGKILL)  # no Python handler runs: the trial stays RUNNING in the database
    doomed.wait(timeout=30)
    assert trials_of(study)[0].state == TrialState.RUNNING
    time.sleep(3)  # its last heartbeat is now older than the survivor's grace period below

    survivor = SearchSettings(TINY_CONFIG, (tmp_path / "space.yml").as_posix(), trials=1, study=study, storage=URL, pruner="none",
                              report=False, overrides=overrides, lost_after_s=2.0)
    result = run_search(survivor)
    lost, retried = trials_of(study)
    assert lost.state == TrialState.FAIL and lost.user_attrs["stop_reason"] == "worker_lost"
    assert retried.state == TrialState.COMPLETE and retried.user_attrs["retry_of"] == 0 and retried.params == lost.params
    assert result.trials_here == [1] and retried.user_attrs["run_dir"] == lost.user_attrs["run_dir"]  # the same folder, continued
    info = json.loads((Path(lost.user_attrs["run_dir"]) / "model_info.json").read_text(encoding="utf-8"))
    assert info["status"] == "finished" and len(info["resumed"]) == 1 and info["epochs_run"] == 3  # resumed, not restarted
