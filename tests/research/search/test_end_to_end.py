"""End to end on the tiny synthetic set: real trials, a real prune, the compare report, and two workers sharing a study."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState, create_trial

from reidlab.research.search import SearchSettings, run_search
from reidlab.research.search.storage import open_storage

TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
STUDY = "tiny"
SPACE = "SOLVER.BASE_LR: {low: 1.0e-4, high: 1.0e-3, log: true}\nMODEL.LOSSES.TRI.SCALE: {choices: [0.5, 1.0]}\n"




def write_space(tmp_path: Path) -> str:
    path = tmp_path / "space.yml"
    path.write_text(SPACE, encoding="utf-8")
    return path.as_posix()


def load_study(folder: Path) -> optuna.Study:
    return optuna.load_study(study_name=STUDY, storage=open_storage(None, folder).storage)


def config_of(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))


@pytest.mark.usefixtures("one_torch_thread")
def test_real_trials_prune_with_the_reason_in_the_run_folder_and_end_in_a_compare_report(tmp_path, tiny_overrides, capsys) -> None:
    folder = tmp_path / "logs" / STUDY
    overrides = tiny_overrides(folder)  # OUTPUT_DIR on the command line names the study folder
    space = write_space(tmp_path)
    run_search(SearchSettings(TINY_CONFIG, space, trials=1, study=STUDY, pruner="none", report=False, overrides=overrides))

    # Two yardstick trials at mAP 1.0 at every epoch put the median out of reach, so the next trial is pruned at epoch 1.
    study = load_study(folder)
    for _ in range(2):
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.0, intermediate_values={1: 1.0, 2: 1.0}))
    capsys.readouterr()
    result = run_search(SearchSettings(TINY_CONFIG, space, trials=4, study=STUDY, pruner="median", startup_trials=1, overrides=overrides))
    out = capsys.readouterr().out

    trials = load_study(folder).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]
    pruned_dir = folder / "trial_3"
    info = json.loads((pruned_dir / "model_info.json").read_text(encoding="utf-8"))
    assert info["stop"]["reason"] == "pruned" and info["stop"]["epoch"] == 1
    reason = (pruned_dir / "STOPPING_REASON.txt").read_text(encoding="utf-8")
    assert "Pruned by the search" in reason
    assert re.search(r"mAP 0\.\d{4} at epoch 1 is below the median 1\.0000 of 3 completed trials at that epoch", reason)

    best_dir = folder / "trial_0"
    assert result.best.number == 0 and result.exit_code == 0
    assert config_of(best_dir)["SOLVER"]["BASE_LR"] == pytest.approx(trials[0].params["SOLVER.BASE_LR"])
    assert config_of(best_dir)["OUTPUT_DIR"] == best_dir.as_posix()
    assert f"Best run directory: {best_dir.as_posix()}" in out
    assert f"optuna-dashboard {(folder / 'study.journal').as_posix()}" in out
    selection = (folder / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")
    assert "trial_0" in selection and "trial_3" in selection


def test_two_workers_share_one_study_without_losing_or_repeating_a_trial(tmp_path, tiny_overrides) -> None:
    folder = tmp_path / "logs" / STUDY
    command = [
        sys.executable, "-m", "reidlab", "search", "--config-file", TINY_CONFIG, "--space", write_space(tmp_path),
        "--trials", "3", "--study", STUDY, "--pruner", "none", "--no-report", *tiny_overrides(folder, {"SOLVER.MAX_EPOCH": 1}),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) for _ in range(2)]
    outputs = [worker.communicate(timeout=180)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(outputs)

    trials = load_study(folder).get_trials()
    numbers = [t.number for t in trials]
    assert 3 <= len(trials) <= 4  # two workers starting a trial at the same instant may overrun by one
    assert numbers == list(range(len(trials)))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    started = [{int(n) for n in re.findall(r"\[search\] trial (\d+): starting", out)} for out in outputs]
    assert started[0].isdisjoint(started[1]) and started[0] | started[1] == set(numbers)  # each trial trained once
    run_dirs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert run_dirs == sorted(f"trial_{n}" for n in numbers)
    for trial in trials:
        run_dir = folder / f"trial_{trial.number}"
        assert trial.user_attrs["run_dir"] == run_dir.as_posix()
        assert json.loads((run_dir / "model_info.json").read_text(encoding="utf-8"))["status"] == "finished"
        assert config_of(run_dir)["SOLVER"]["BASE_LR"] == pytest.approx(trial.params["SOLVER.BASE_LR"])
