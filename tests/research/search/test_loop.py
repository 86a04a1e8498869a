"""The search loop with a stand-in for training: budget, failures, Ctrl-C and resume, queued configs, lost workers.

The stand-in returns the run endings a real run can have in microseconds, so these tests check
the study's bookkeeping; test_search_end_to_end trains for real.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from reidlab.cli.main import main as reidlab_main
from reidlab.data import DatasetError
from reidlab.engine.stop_reasons import Stop, StopReason
from reidlab.engine.train import TrainResult
from reidlab.research.search import SearchError, SearchSettings, run_search
from reidlab.research.search.heartbeat import HEARTBEAT_ATTR
from reidlab.research.search.storage import open_storage

CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
DEMO_FILE = Path(__file__).resolve().parents[3] / "reidlab" / "configs" / "Synthetic" / "demo_R18_cpu.yml"
SPACE = "SOLVER.BASE_LR: {low: 1.0e-4, high: 1.0e-3, log: true}\nSOLVER.IMS_PER_BATCH: {choices: [8, 16]}\n"
OVERRIDES = ("DATALOADER.NUM_INSTANCE", "2")


class StopRequests:
    """What a hook sees of the Trainer: request_stop."""

    def __init__(self) -> None:
        self.requests: dict = {}

    def request_stop(self, reason, message) -> None:
        self.requests[reason] = message


@dataclass
class FakeTrain:
    """Stands in for reidlab's train(): reports each epoch's mAP to the hooks, then ends as scripted.

    endings[i] is the i-th call's (stop reason, {epoch: mAP}), or an exception to raise; later calls complete.
    """

    endings: list
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    resumed: list[bool] = field(default_factory=list)

    def __call__(self, config_file, run_name, overrides, resume=False, hooks=()):
        pairs = dict(zip(overrides[::2], overrides[1::2]))
        self.calls.append((config_file, pairs))
        self.resumed.append(resume)
        ending = self.endings[len(self.calls) - 1] if len(self.calls) <= len(self.endings) else ("max_epochs", {1: 0.3})
        if isinstance(ending, BaseException):
            raise ending
        reason, maps = ending
        run_dir = Path(pairs["OUTPUT_DIR"])
        best, trainer = None, StopRequests()
        for hook in hooks:
            hook.trainer = trainer
        for epoch, value in maps.items():
            if best is None or value > best["mAP"]:
                best = {"epoch": epoch, "mAP": value, "rank1": value}
            for hook in hooks:
                hook.after_epoch(epoch, {"epoch": epoch, "mAP": value})
            for stop_reason, message in trainer.requests.items():
                return TrainResult(run_dir, Stop(stop_reason, message, epoch), best)
        return TrainResult(run_dir, Stop(StopReason(reason), f"scripted {reason}", max(maps, default=0)), best)


def settings(tmp_path: Path, trials: int, **extra) -> SearchSettings:
    space = tmp_path / "space.yml"
    space.write_text(SPACE, encoding="utf-8")
    return SearchSettings(CONFIG, space.as_posix(), trials=trials, out=(tmp_path / "study").as_posix(), overrides=OVERRIDES, report=False, **extra)


def trials_of(tmp_path: Path, name: str = "demo_R18_cpu_search") -> list[optuna.trial.FrozenTrial]:
    storage = open_storage(None, tmp_path / "study")
    return optuna.load_study(study_name=name, storage=storage.storage).get_trials()


def test_each_ending_becomes_a_trial_state_with_its_reason_and_the_budget_holds_over_reruns(tmp_path: Path) -> None:
    fake = FakeTrain([("max_epochs", {1: 0.3, 2: 0.4}), ("out_of_memory", {}), ("diverged", {1: 0.1}), DatasetError("only 3 identities"), ("patience_exhausted", {1: 0.5})])
    result = run_search(settings(tmp_path, 5, pruner="none"), train=fake)
    assert result.exit_code == 0 and result.best.number == 4 and result.best.value == 0.5
    trials = trials_of(tmp_path)
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]
    assert [t.user_attrs["stop_reason"] for t in trials] == ["max_epochs", "out_of_memory", "diverged", "error", "patience_exhausted"]
    assert trials[3].user_attrs["stop_message"] == "DatasetError: only 3 identities"
    assert trials[0].value == 0.4 and trials[0].user_attrs["best_epoch"] == 2
    for number, (config_file, pairs) in enumerate(fake.calls):
        assert config_file == CONFIG
        assert pairs["OUTPUT_DIR"] == (tmp_path / "study" / f"trial_{number}").as_posix()
        assert pairs["DATALOADER.NUM_INSTANCE"] == "2"
        assert float(pairs["SOLVER.BASE_LR"]) == pytest.approx(trials[number].params["SOLVER.BASE_LR"])
        assert int(pairs["SOLVER.IMS_PER_BATCH"]) == trials[number].params["SOLVER.IMS_PER_BATCH"]

    run_search(settings(tmp_path, 5), train=fake)  # the study already holds 5
    assert len(fake.calls) == 5
    run_search(settings(tmp_path, 6), train=fake)
    assert len(fake.calls) == 6 and len(trials_of(tmp_path)) == 6


def test_a_trial_below_the_median_is_pruned_with_the_comparison_in_words(tmp_path: Path) -> None:
    run_search(settings(tmp_path, 1), train=FakeTrain([("max_epochs", {1: 0.6, 2: 0.7})]))
    fake = FakeTrain([("max_epochs", {1: 0.2, 2: 0.3})])
    run_search(settings(tmp_path, 2, startup_trials=1), train=fake)
    pruned = trials_of(tmp_path)[1]
    assert pruned.state == TrialState.PRUNED and pruned.user_attrs["stop_reason"] == "pruned"
    assert pruned.user_attrs["stop_message"] == "Pruned at epoch 1: mAP 0.2000 at epoch 1 is below the median 0.6000 of 1 completed trial at that epoch."
    assert pruned.intermediate_values == {1: 0.2}


def test_ctrl_c_fails_the_trial_as_interrupted_and_a_rerun_trains_its_config_again(tmp_path: Path) -> None:
    fake = FakeTrain([("max_epochs", {1: 0.3}), ("interrupted", {1: 0.2})])
    first = run_search(settings(tmp_path, 3, pruner="none"), train=fake)
    assert first.exit_code == 130 and first.trials_here == [0, 1]
    interrupted, queued = trials_of(tmp_path)[1:]
    assert interrupted.state == TrialState.FAIL and interrupted.user_attrs["stop_reason"] == "interrupted"
    assert queued.state == TrialState.WAITING and queued.user_attrs["retry_of"] == 1

    second = run_search(settings(tmp_path, 3, pruner="none"), train=fake)
    assert second.exit_code == 0 and second.trials_here == [2, 3]  # the interrupted trial does not count toward 3
    retried = trials_of(tmp_path)[2]
    assert retried.params == interrupted.params and retried.state == TrialState.COMPLETE


def test_keyboard_interrupt_before_training_started_is_handled_the_same_way(tmp_path: Path) -> None:
    result = run_search(settings(tmp_path, 2), train=FakeTrain([KeyboardInterrupt()]))
    assert result.exit_code == 130
    first, queued = trials_of(tmp_path)
    assert first.user_attrs["stop_reason"] == "interrupted" and queued.state == TrialState.WAITING


def test_enqueue_runs_the_base_config_and_each_yaml_exactly_once_then_samples(tmp_path: Path) -> None:
    remedies = tmp_path / "plateau_solutions"
    remedies.mkdir()
    base = DEMO_FILE.as_posix()
    (remedies / "1_lower_lr.yml").write_text(f"_BASE_: {base}\nSOLVER:\n  BASE_LR: 0.0002\n  IMS_PER_BATCH: 16\n", encoding="utf-8")
    (remedies / "2_far_lr.yaml").write_text(f"_BASE_: {base}\nSOLVER:\n  BASE_LR: 0.05\n  WEIGHT_DECAY: 0.001\n  IMS_PER_BATCH: 8\n", encoding="utf-8")
    (remedies / "3_bad_batch.yml").write_text(f"_BASE_: {base}\nSOLVER:\n  IMS_PER_BATCH: 9\n", encoding="utf-8")
    (remedies / "notes.txt").write_text("not a config", encoding="utf-8")
    fake = FakeTrain([])
    run_search(settings(tmp_path, 5, enqueue=remedies.as_posix(), pruner="none"), train=fake)

    trials = trials_of(tmp_path)
    files = [t.user_attrs.get("queued_config") for t in trials]
    assert files == [CONFIG, (remedies / "1_lower_lr.yml").as_posix(), (remedies / "2_far_lr.yaml").as_posix(), (remedies / "3_bad_batch.yml").as_posix(), None]
    # The demo config's batch of 32 is outside the choices: not a parameter, listed instead; the file trains as written.
    assert trials[0].params == {"SOLVER.BASE_LR": pytest.approx(0.00035)} and trials[0].user_attrs["outside_space"] == {"SOLVER.IMS_PER_BATCH": 32}
    assert trials[1].params == {"SOLVER.BASE_LR": pytest.approx(0.0002), "SOLVER.IMS_PER_BATCH": 16}
    assert trials[2].params == {"SOLVER.IMS_PER_BATCH": 8} and trials[2].user_attrs["outside_space"] == {"SOLVER.BASE_LR": 0.05}
    assert trials[3].state == TrialState.FAIL and trials[3].user_attrs["stop_reason"] == "invalid_config"
    assert "SOLVER.IMS_PER_BATCH 9 is not divisible by DATALOADER.NUM_INSTANCE 2" in trials[3].user_attrs["stop_message"]
    assert [c[0] for c in fake.calls] == [CONFIG, files[1], files[2], CONFIG]  # the invalid one never trains
    assert "SOLVER.BASE_LR" not in fake.calls[2][1]  # queued files are not overridden with space values
    assert "SOLVER.BASE_LR" in fake.calls[3][1]  # the sampled trial is

    run_search(settings(tmp_path, 6, enqueue=remedies.as_posix(), pruner="none"), train=fake)  # a rerun queues nothing twice
    assert [t.user_attrs.get("queued_config") for t in trials_of(tmp_path)][5] is None


def test_a_trial_whose_worker_died_is_failed_as_worker_lost_and_its_config_queued_again(tmp_path: Path) -> None:
    run_search(settings(tmp_path, 1), train=FakeTrain([]))
    study = optuna.load_study(study_name="demo_R18_cpu_search", storage=open_storage(None, tmp_path / "study").storage)
    orphan = study.ask()
    orphan.suggest_float("SOLVER.BASE_LR", 1e-4, 1e-3, log=True)
    orphan.suggest_categorical("SOLVER.IMS_PER_BATCH", [8, 16])
    orphan.set_user_attr(HEARTBEAT_ATTR, time.time() - 3600)

    result = run_search(settings(tmp_path, 2, lost_after_s=600), train=FakeTrain([]))
    trials = trials_of(tmp_path)
    assert trials[1].state == TrialState.FAIL and trials[1].user_attrs["stop_reason"] == "worker_lost"
    assert result.trials_here == [2] and trials[2].params == trials[1].params and trials[2].user_attrs["retry_of"] == 1


def _lost_trial_with_folder(tmp_path: Path, checkpoint: bool) -> Path:
    """A study with one finished trial and one RUNNING trial whose worker is long gone, with its run folder."""
    run_search(settings(tmp_path, 1), train=FakeTrain([]))
    study = optuna.load_study(study_name="demo_R18_cpu_search", storage=open_storage(None, tmp_path / "study").storage)
    orphan = study.ask()
    orphan.suggest_float("SOLVER.BASE_LR", 1e-4, 1e-3, log=True)
    orphan.suggest_categorical("SOLVER.IMS_PER_BATCH", [8, 16])
    folder = tmp_path / "study" / f"trial_{orphan.number}"
    folder.mkdir()
    (folder / "model_info.json").write_text('{"status": "running"}', encoding="utf-8")
    if checkpoint:
        (folder / "last_checkpoint.pth").write_bytes(b"epoch 1")
    orphan.set_user_attr("run_dir", folder.as_posix())
    orphan.set_user_attr(HEARTBEAT_ATTR, time.time() - 3600)
    return folder


def test_a_lost_trial_with_a_checkpoint_is_resumed_in_its_own_folder(tmp_path: Path) -> None:
    folder = _lost_trial_with_folder(tmp_path, checkpoint=True)
    fake = FakeTrain([])
    run_search(settings(tmp_path, 2, lost_after_s=600), train=fake)
    retried = trials_of(tmp_path)[2]
    assert retried.user_attrs["retry_of"] == 1 and retried.user_attrs["resume_dir"] == folder.as_posix()
    assert fake.calls[0][1]["OUTPUT_DIR"] == folder.as_posix() and fake.resumed == [True]
    assert retried.user_attrs["run_dir"] == folder.as_posix() and retried.state == TrialState.COMPLETE


def test_a_lost_trial_killed_before_its_first_checkpoint_starts_again_in_a_new_folder(tmp_path: Path) -> None:
    _lost_trial_with_folder(tmp_path, checkpoint=False)
    fake = FakeTrain([])
    run_search(settings(tmp_path, 2, lost_after_s=600), train=fake)
    assert fake.calls[0][1]["OUTPUT_DIR"] == (tmp_path / "study" / "trial_2").as_posix() and fake.resumed == [False]


def test_a_folder_with_another_studys_trials_is_refused(tmp_path: Path) -> None:
    (tmp_path / "study" / "trial_0").mkdir(parents=True)
    with pytest.raises(SearchError, match="trial_0: this folder holds trial runs that study demo_R18_cpu_search does not know"):
        run_search(settings(tmp_path, 1), train=FakeTrain([]))


def test_cli_reports_user_errors_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    space = tmp_path / "space.yml"
    space.write_text("SOLVER.BASE_LRR: {low: 1.0e-4, high: 1.0e-3}\n", encoding="utf-8")
    code = reidlab_main(["search", "--config-file", CONFIG, "--space", space.as_posix(), "--trials", "2", "--out", (tmp_path / "s").as_posix()])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err == f"reidlab search: error: {space.as_posix()}: unknown key SOLVER.BASE_LRR; did you mean SOLVER.BASE_LR?"
    assert not (tmp_path / "s").exists()
