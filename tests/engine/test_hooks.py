"""The Trainer's hooks: the call order, hook state riding in last_checkpoint.pth, and no reference cycle."""

from __future__ import annotations

import gc
import json
import weakref

import torch

from reidlab.engine.hooks import HookBase
from reidlab.engine.train import train
from reidlab.rundir import load_checkpoint

CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


class Recorder(HookBase):
    """Every call, in order, and a step count kept as hook state (so it must survive a resume)."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.steps = 0
        self.loaded: dict | None = None

    def before_train(self) -> None:
        self.calls.append(("before_train",))

    def before_epoch(self, epoch: int) -> None:
        self.calls.append(("before_epoch", epoch))

    def after_step(self, epoch: int, step: int) -> None:
        self.steps += 1
        self.calls.append(("after_step", epoch, step, self.trainer.state.iteration))

    def after_epoch(self, epoch: int, record: dict) -> None:
        self.calls.append(("after_epoch", epoch, "mAP" in record, self.trainer.state.epoch, len(self.trainer.state.history)))

    def after_train(self, stop) -> None:
        self.calls.append(("after_train", stop.reason.value))

    def state_dict(self) -> dict:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.loaded = dict(state)
        self.steps = state["steps"]


def test_hooks_are_called_in_the_documented_order(tmp_path, tiny_overrides):
    recorder = Recorder()
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"TEST.EVAL_PERIOD": 2}), hooks=[recorder])
    steps = lambda epoch, first: [("after_step", epoch, s, first + s + 1) for s in range(4)]  # noqa: E731 - 4 iterations an epoch
    assert recorder.calls == [
        ("before_train",),
        ("before_epoch", 1), *steps(1, 0), ("after_epoch", 1, False, 1, 1),
        ("before_epoch", 2), *steps(2, 4), ("after_epoch", 2, True, 2, 2),
        ("after_train", "max_epochs"),
    ]


def test_a_hooks_state_rides_in_the_checkpoint_and_comes_back_on_resume(tmp_path, tiny_overrides):
    first = Recorder()
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1}), hooks=[first])
    saved = load_checkpoint(tmp_path / "run" / "last_checkpoint.pth")["hooks"]
    assert saved["recorder"] == {"steps": 4} and set(saved) == {"recorder", "early_stopping"}
    second = Recorder()
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 2}), resume=True, hooks=[second])
    assert second.loaded == {"steps": 4} and second.steps == 8


def test_a_checkpoint_written_before_hooks_resumes_its_early_stopping_state(tmp_path, tiny_overrides):
    """last_checkpoint.pth of reidlab before the hooks kept early stopping under "early_stopping"."""
    overrides = tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1, "SOLVER.EARLY_STOP.PATIENCE": 2})
    train(CONFIG, overrides=overrides)
    path = tmp_path / "run" / "last_checkpoint.pth"
    old = torch.load(path, weights_only=True)
    state = old.pop("hooks")["early_stopping"]
    old["early_stopping"] = {**state, "best": 2.0, "evaluations_without_improvement": 1}  # no later mAP can beat 2.0
    torch.save(old, path)
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 5, "SOLVER.EARLY_STOP.PATIENCE": 2}), resume=True)
    assert result.stop.reason.value == "patience_exhausted" and result.stop.epoch == 2  # one more evaluation without improvement


def test_the_trainer_is_freed_without_the_garbage_collector(tmp_path, tiny_overrides):
    """A trainer <-> hook cycle would keep the loaders' worker processes alive, and an exiting process would wait on them."""
    seen: list = []

    class Keep(HookBase):
        def before_train(self) -> None:
            seen.append(weakref.ref(self.trainer.__repr__.__self__))

    gc.disable()
    try:
        train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1}), hooks=[Keep()])
        assert seen and seen[0]() is None
    finally:
        gc.enable()


def test_run_files_are_complete_with_only_the_default_hooks(tmp_path, tiny_overrides):
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1}))
    info = json.loads((tmp_path / "run" / "model_info.json").read_text(encoding="utf-8"))
    assert info["status"] == "finished" and info["best"]["epoch"] == 1 and info["final"]["evaluated_epoch"] == 1
