"""`sweep` with a stand-in for `train` that keeps the engine's folder contract but scripts each run's mAP curve.

The stand-in refuses to start over an existing run, resumes only from last_checkpoint.pth, honours
a PauseAfterEpoch hook (stop reason `paused`), early-stops on patience and writes model_info.json and
training_history.json as train does, so the sweep's bookkeeping is tested in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest

from reidlab.cli.research_commands import add_research_commands
from reidlab.config import load_config
from reidlab.engine.hooks import PauseAfterEpoch
from reidlab.engine.stop_reasons import Stop, StopReason
from reidlab.research.sweep import SweepError, sweep
from reidlab.research.sweep.halving import best_map_up_to, rank_at_rung, rung_epochs, survivors_count
from reidlab.rundir import RunDirError, resolve_run_dir

Curve = Callable[[int], float]


def peak_at(epoch: int, height: float = 0.5) -> Curve:
    return lambda e: height - 0.01 * abs(e - epoch)


def rising(rate: float = 0.02) -> Curve:
    return lambda e: rate * e


class FakeTrain:
    """reidlab.engine.train.train's contract on disk, with scripted curves instead of a model."""

    def __init__(self, curves: dict[str, Curve], fail_at: dict[str, int] | None = None, interrupt_at: dict[str, int] | None = None,
                 raise_for: dict[str, Exception] | None = None, during: Callable[[str], None] | None = None):
        self.curves, self.fail_at, self.interrupt_at = curves, fail_at or {}, dict(interrupt_at or {})
        self.raise_for, self.during = raise_for or {}, during
        self.calls: list[tuple[str, bool, int | None]] = []

    def __call__(self, config_file, run_name=None, overrides=(), resume=False, hooks=()):
        until_epoch = next((hook.epoch for hook in hooks if isinstance(hook, PauseAfterEpoch)), None)
        cfg = load_config(config_file, overrides)
        run = resolve_run_dir(cfg, run_name, config_file)
        self.calls.append((run_name, resume, until_epoch))
        if self.during:
            self.during(run_name)
        if run_name in self.raise_for:
            raise self.raise_for[run_name]
        checkpoint = run / "last_checkpoint.pth"
        if resume:
            if not checkpoint.exists():
                raise RunDirError(f"--resume: {checkpoint} not found")
            history = json.loads(checkpoint.read_text())
        else:
            if checkpoint.exists() or (run / "model_info.json").exists():
                raise RunDirError(f"{run} already holds a run")
            history = []
        run.mkdir(parents=True, exist_ok=True)
        stop = self._train(cfg, run_name, run, history, until_epoch)
        evaluated = [r for r in history if "mAP" in r]
        best = max(evaluated, key=lambda r: (r["mAP"], -r["epoch"])) if evaluated else None
        info = {
            "status": "finished", "stop": stop.to_dict(), "epochs_run": len(history), "train_seconds": float(len(history)),
            "best": {"epoch": best["epoch"], "mAP": best["mAP"]} if best else None, "num_classes": 8, "test_sets": ["Market1501"],
            "hyperparameters": {"SOLVER.MAX_EPOCH": cfg.SOLVER.MAX_EPOCH},
        }
        (run / "model_info.json").write_text(json.dumps(info))
        return SimpleNamespace(stop=stop, run_dir=run, best=info["best"])

    def _train(self, cfg, name, run, history, until_epoch) -> Stop:
        patience, period, max_epoch = cfg.SOLVER.EARLY_STOP.PATIENCE, cfg.TEST.EVAL_PERIOD, cfg.SOLVER.MAX_EPOCH
        while len(history) < max_epoch:
            epoch = len(history) + 1
            if self.fail_at.get(name) == epoch:
                return Stop(StopReason.DIVERGED, f"Loss became nan at epoch {epoch}", epoch)
            if self.interrupt_at.get(name) == epoch:
                del self.interrupt_at[name]  # Ctrl-C once
                return Stop(StopReason.INTERRUPTED, "Received SIGINT", epoch - 1)
            record = {"epoch": epoch, "iterations": 4 * epoch, "loss": 1.0 / epoch, "train_seconds": 1.0}
            if epoch % period == 0 or epoch == max_epoch:
                record["mAP"] = self.curves[name](epoch)
            history.append(record)
            (run / "last_checkpoint.pth").write_text(json.dumps(history))
            (run / "training_history.json").write_text(json.dumps(history))
            maps = [r["mAP"] for r in history if "mAP" in r]
            best_index = maps.index(max(maps)) if maps else 0
            if maps and len(maps) - 1 - best_index >= patience:
                return Stop(StopReason.PATIENCE_EXHAUSTED, "patience", epoch)
            if until_epoch is not None and epoch >= until_epoch and epoch < max_epoch:
                return Stop(StopReason.PAUSED, "paused", epoch)
        return Stop(StopReason.MAX_EPOCHS, "max", len(history))


def write_configs(folder: Path, names: list[str], logs: Path, **settings) -> Path:
    """One small config per name (runs land in logs/<name>); settings are extra dotted keys for every one."""
    folder.mkdir(parents=True, exist_ok=True)
    values = {"OUTPUT_DIR": (logs / "base").as_posix(), "SOLVER.MAX_EPOCH": 12, "TEST.EVAL_PERIOD": 1, "SOLVER.EARLY_STOP.PATIENCE": 3, **settings}
    for name in names:
        tree: dict = {}
        for dotted, value in values.items():
            node = tree
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        (folder / f"{name}.yml").write_text(json.dumps(tree), encoding="utf-8")
    return folder


def read_sweep(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def runs_of(state: dict) -> dict[str, dict]:
    return {run["name"]: run for run in state["runs"]}


# ---------------------------------------------------------------- sequential
def test_sequential_runs_each_config_to_its_own_early_stop_then_compares(tmp_path):
    configs = write_configs(tmp_path / "configs", ["a", "b", "c"], tmp_path / "logs")
    fake = FakeTrain({"a": peak_at(5), "b": rising(0.05), "c": peak_at(3, 0.4)})
    result = sweep([configs], launcher=fake, say=lambda line: None)
    assert result.exit_code == 0 and result.winner.name == "b"
    state = read_sweep(tmp_path / "logs" / "sweep.json")
    runs = runs_of(state)
    assert {n: (r["status"], r["epochs"]) for n, r in runs.items()} == {"a": ("finished", 8), "b": ("finished", 12), "c": ("finished", 6)}
    assert runs["b"]["seconds"] == 12.0 and state["epochs_spent"] == 26 and state["winner"] == "b"
    assert [call[1:] for call in fake.calls] == [(False, None)] * 3
    assert (tmp_path / "logs" / "BEST_MODEL_SELECTION.txt").is_file()


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    configs = write_configs(tmp_path / "configs", ["a", "b", "c"], tmp_path / "logs")
    fake = FakeTrain({"a": rising(), "b": rising(), "c": peak_at(4)}, fail_at={"b": 3}, raise_for={"a": MemoryError("out of host memory")})
    result = sweep([configs], launcher=fake, say=lambda line: None)
    runs = runs_of(read_sweep(result.path))
    assert runs["a"]["status"] == "failed" and "MemoryError" in runs["a"]["message"]
    assert runs["b"]["status"] == "failed" and runs["b"]["stop_reason"] == "diverged" and runs["b"]["epochs"] == 2
    assert runs["c"]["status"] == "finished" and result.winner.name == "c"


def test_a_config_that_does_not_load_is_recorded_as_failed(tmp_path):
    configs = write_configs(tmp_path / "configs", ["a", "b"], tmp_path / "logs")
    (configs / "broken.yml").write_text("SOLVER:\n  BASE_LRR: 0.1\n", encoding="utf-8")
    result = sweep([configs], launcher=FakeTrain({"a": rising(), "b": rising(0.01)}), say=lambda line: None)
    broken = runs_of(read_sweep(result.path))["broken"]
    assert broken["status"] == "failed" and "BASE_LR" in broken["message"] and result.winner.name == "a"


def test_an_interrupted_sweep_resumes_without_repeating_finished_runs(tmp_path):
    configs = write_configs(tmp_path / "configs", ["a", "b", "c"], tmp_path / "logs")
    curves = {"a": peak_at(5), "b": rising(), "c": peak_at(3)}
    first = sweep([configs], launcher=FakeTrain(curves, interrupt_at={"b": 4}), say=lambda line: None)
    assert first.exit_code == 130
    state = read_sweep(first.path)
    assert state["status"] == "interrupted" and runs_of(state)["b"]["status"] == "interrupted" and runs_of(state)["c"]["status"] == "pending"

    again = FakeTrain(curves)
    second = sweep([configs], launcher=again, say=lambda line: None)
    assert second.exit_code == 0 and [c[:2] for c in again.calls] == [("b", True), ("c", False)]
    assert runs_of(read_sweep(second.path))["b"]["epochs"] == 12

    third = FakeTrain(curves)
    sweep([configs], launcher=third, say=lambda line: None)
    assert third.calls == []  # a finished sweep repeats nothing


def test_sweep_json_is_rewritten_after_every_change(tmp_path):
    configs = write_configs(tmp_path / "configs", ["a", "b"], tmp_path / "logs")
    seen = []
    fake = FakeTrain({"a": rising(), "b": rising()}, during=lambda name: seen.append(runs_of(read_sweep(tmp_path / "logs" / "sweep.json"))))
    sweep([configs], launcher=fake, say=lambda line: None)
    assert seen[0]["a"]["status"] == "running" and seen[0]["b"]["status"] == "pending"
    assert seen[1]["a"]["status"] == "finished" and seen[1]["b"]["status"] == "running"


def test_another_sweep_in_the_same_folder_is_refused(tmp_path):
    configs = write_configs(tmp_path / "configs", ["a", "b"], tmp_path / "logs")
    sweep([configs], launcher=FakeTrain({"a": rising(), "b": rising()}), say=lambda line: None)
    with pytest.raises(SweepError, match="records another sweep"):
        sweep([configs / "a.yml"], launcher=FakeTrain({"a": rising()}), say=lambda line: None, out=tmp_path / "logs")
    with pytest.raises(SweepError, match="strategy"):
        sweep([configs], strategy="halving", launcher=FakeTrain({}), say=lambda line: None)
    with pytest.raises(SweepError, match="no such config"):
        sweep([tmp_path / "nothing"], launcher=FakeTrain({}), say=lambda line: None)


# ---------------------------------------------------------------- halving
def test_halving_stops_losers_at_their_rung_and_resumes_survivors(tmp_path):
    names = ["a", "b", "c", "d", "e", "f"]
    configs = write_configs(tmp_path / "configs", names, tmp_path / "logs", **{"SOLVER.MAX_EPOCH": 20, "TEST.EVAL_PERIOD": 2, "SOLVER.EARLY_STOP.PATIENCE": 2})
    curves = {n: rising(0.01 * (i + 1)) for i, n in enumerate(names)}  # f is best at every epoch
    fake = FakeTrain(curves)
    result = sweep([configs], strategy="halving", eta=3, launcher=fake, say=lambda line: None)
    state = read_sweep(result.path)
    runs = runs_of(state)
    assert state["rungs"] == [2, 6, 18]
    assert {n: r["stopped_at_rung"] for n, r in runs.items()} == {"a": 2, "b": 2, "c": 2, "d": 2, "e": 6, "f": None}
    assert {n: r["epochs"] for n, r in runs.items()} == {"a": 2, "b": 2, "c": 2, "d": 2, "e": 6, "f": 20}
    assert runs["a"]["status"] == "stopped_at_rung" and runs["f"]["status"] == "finished"
    first_calls = {}
    for name, resume, until in fake.calls:
        first_calls.setdefault(name, (resume, until))
        if first_calls[name] != (resume, until):
            assert resume  # after the first call, a run is only ever resumed: nothing restarts
    assert ("f", True, None) in fake.calls and ("e", True, 6) in fake.calls
    assert result.winner.name == "f" and state["epochs_spent"] == 2 * 4 + 6 + 20
    assert state["sequential_epochs_estimate"] == 6 * 20 and state["epochs_spent"] / state["sequential_epochs_estimate"] < 0.4


def test_halving_rungs_allow_an_evaluation_for_every_run(tmp_path):
    configs = write_configs(tmp_path / "configs", ["a"], tmp_path / "logs", **{"TEST.EVAL_PERIOD": 2, "SOLVER.MAX_EPOCH": 40})
    write_configs(configs, ["b"], tmp_path / "logs", **{"TEST.EVAL_PERIOD": 3, "SOLVER.MAX_EPOCH": 40})
    result = sweep([configs], strategy="halving", eta=2, launcher=FakeTrain({"a": rising(), "b": rising(0.03)}), say=lambda line: None)
    state = read_sweep(result.path)
    assert state["rungs"] == [6, 12, 24] and runs_of(state)["a"]["stopped_at_rung"] == 6


def test_an_interrupted_halving_sweep_resumes_to_the_same_decisions(tmp_path):
    names = ["a", "b", "c", "d"]
    configs = write_configs(tmp_path / "configs", names, tmp_path / "logs", **{"SOLVER.MAX_EPOCH": 16})
    curves = {"a": rising(0.01), "b": peak_at(3, 0.6), "c": rising(0.03), "d": rising(0.02)}
    first = sweep([configs], strategy="halving", eta=2, launcher=FakeTrain(curves, interrupt_at={"b": 3}), say=lambda line: None)
    assert first.exit_code == 130
    again = FakeTrain(curves)
    second = sweep([configs], strategy="halving", eta=2, launcher=again, say=lambda line: None)
    uninterrupted = sweep([write_configs(tmp_path / "configs2", names, tmp_path / "logs2", **{"SOLVER.MAX_EPOCH": 16})], strategy="halving", eta=2,
                          launcher=FakeTrain(curves), say=lambda line: None)
    assert all(resume for _, resume, _ in again.calls)
    resumed, straight = runs_of(read_sweep(second.path)), runs_of(read_sweep(uninterrupted.path))
    assert {n: (r["status"], r["epochs"], r["stopped_at_rung"]) for n, r in resumed.items()} == {
        n: (r["status"], r["epochs"], r["stopped_at_rung"]) for n, r in straight.items()
    }


def test_rung_schedule_and_ranking():
    assert rung_epochs([1], [30], 3) == [1, 3, 9, 27]
    assert rung_epochs([1], [30], 3, min_epochs=2) == [2, 6, 18]
    assert rung_epochs([2, 3], [30], 2) == [6, 12, 24]
    assert rung_epochs([30], [30], 3) == []
    assert [survivors_count(n, 3) for n in (1, 3, 4, 5, 7)] == [1, 1, 2, 2, 3]
    assert rank_at_rung({"a": 0.5, "b": None, "c": 0.7, "d": 0.5}, ["a", "b", "c", "d"]) == ["c", "a", "d", "b"]
    history = [{"epoch": 1, "mAP": 0.2}, {"epoch": 2, "mAP": 0.5}, {"epoch": 3, "mAP": 0.9}]
    assert best_map_up_to(history, 2) == 0.5 and best_map_up_to(history, 0) is None
    assert not math.isnan(best_map_up_to(history, 3))


# ---------------------------------------------------------------- command line
def test_the_sweep_command_parses_options_configs_and_overrides():
    parser = argparse.ArgumentParser()
    add_research_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", "--strategy", "halving", "--eta", "2", "configs/", "SOLVER.MAX_EPOCH", "4"])
    assert (args.items, args.strategy, args.eta, args.min_epochs) == (["configs/", "SOLVER.MAX_EPOCH", "4"], "halving", 2, None)
    assert parser.parse_args(["sweep", "configs/"]).strategy == "sequential"
