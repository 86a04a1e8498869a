"""A time-limit or Ctrl-C stop evaluates the last completed epoch when it was never evaluated: the
history, best_model.pth, model_final.pth, last_checkpoint.pth and STOPPING_REASON.txt all say so."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from reidlab.engine.hooks import CallbackHook
from reidlab.engine.hooks.time_limit import TimeLimit
from reidlab.engine.stop_reasons import StopReason
from reidlab.engine.train import train
from reidlab.rundir import load_checkpoint

CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
NEVER_EVALUATED = {"SOLVER.MAX_EPOCH": 4, "TEST.EVAL_PERIOD": 4, "SOLVER.EARLY_STOP.ENABLED": False}


def _history(run):
    return json.loads((run / "training_history.json").read_text(encoding="utf-8"))


def _time_limit_after_epoch(at: int):
    def stop(trainer, epoch, record):
        if epoch == at:
            trainer.request_stop(StopReason.TIME_LIMIT, f"limit reached; the last completed epoch is {epoch}.")

    return CallbackHook(after_epoch=stop)


def test_a_time_limit_at_an_unevaluated_epoch_evaluates_it_and_keeps_it_as_the_best(tmp_path, tiny_overrides):
    run = tmp_path / "run"
    result = train(CONFIG, overrides=tiny_overrides(run, NEVER_EVALUATED), hooks=[_time_limit_after_epoch(2)])
    assert result.stop.reason is StopReason.TIME_LIMIT
    last = _history(run)[-1]
    assert last["epoch"] == 2 and last["final_evaluation"] is True and 0 <= last["mAP"] <= 1
    assert result.best == {"epoch": 2, **{k: last[k] for k in ("mAP", "rank1", "rank5", "rank10", "mINP")}}
    assert load_checkpoint(run / "best_model.pth")["epoch"] == 2 and (run / "eval" / "best_per_query.npz").is_file()
    reason = (run / "STOPPING_REASON.txt").read_text(encoding="utf-8")
    assert "Epoch 2 had not been evaluated, so it was evaluated at the stop: mAP" in reason
    info = json.loads((run / "model_info.json").read_text(encoding="utf-8"))
    assert info["best"]["epoch"] == 2 and info["best"]["mAP"] == pytest.approx(last["mAP"])


def test_a_stop_within_an_epoch_evaluates_the_completed_one_and_resume_knows_it(tmp_path, tiny_overrides):
    run = tmp_path / "run"

    def ctrl_c_in_epoch_3(trainer, epoch, step):
        if epoch == 3 and step == 1:
            raise KeyboardInterrupt

    result = train(CONFIG, overrides=tiny_overrides(run, NEVER_EVALUATED), hooks=[CallbackHook(after_step=ctrl_c_in_epoch_3)])
    assert result.stop.reason is StopReason.INTERRUPTED and result.best["epoch"] == 2
    checkpoint = load_checkpoint(run / "last_checkpoint.pth")
    final = load_checkpoint(run / "model_final.pth")
    assert final["epoch"] == 2 and all(torch.equal(final["model"][k], checkpoint["model"][k]) for k in checkpoint["model"])  # epoch 2's weights, not 2 + 2 steps
    assert checkpoint["history"][-1]["final_evaluation"] and checkpoint["best"]["epoch"] == 2  # the resumed run knows the evaluation
    resumed = train(CONFIG, overrides=tiny_overrides(run, NEVER_EVALUATED), resume=True)
    assert resumed.stop.reason is StopReason.MAX_EPOCHS and [r["epoch"] for r in _history(run)] == [1, 2, 3, 4]
    assert "mAP" in _history(run)[1] and "mAP" in _history(run)[3]


def test_a_ctrl_c_in_the_first_epoch_after_resume_evaluates_the_epoch_it_resumed_from(tmp_path, tiny_overrides):
    from reidlab.engine.hooks import PauseAfterEpoch

    run = tmp_path / "run"
    train(CONFIG, overrides=tiny_overrides(run, NEVER_EVALUATED), hooks=[PauseAfterEpoch(1)])
    assert "mAP" not in _history(run)[-1]

    def ctrl_c(trainer, epoch, step):
        if step == 1:
            raise KeyboardInterrupt

    result = train(CONFIG, overrides=tiny_overrides(run, NEVER_EVALUATED), resume=True, hooks=[CallbackHook(after_step=ctrl_c)])
    assert result.stop.reason is StopReason.INTERRUPTED and result.best["epoch"] == 1 and _history(run)[-1]["final_evaluation"]


def test_an_evaluated_last_epoch_is_not_evaluated_again(tmp_path, tiny_overrides):
    run = tmp_path / "run"
    result = train(CONFIG, overrides=tiny_overrides(run, {**NEVER_EVALUATED, "TEST.EVAL_PERIOD": 2}), hooks=[_time_limit_after_epoch(2)])
    assert "final_evaluation" not in _history(run)[-1] and "evaluated at the stop" not in result.stop.message


def test_max_epochs_and_failures_get_no_evaluation_at_the_stop(tmp_path, tiny_overrides):
    run = tmp_path / "run"

    def fail(trainer, epoch, record):
        if epoch == 1:
            raise RuntimeError("disk full")

    result = train(CONFIG, overrides=tiny_overrides(run, NEVER_EVALUATED), hooks=[CallbackHook(after_epoch=fail)])
    assert result.stop.reason is StopReason.ERROR and "mAP" not in _history(run)[-1]


def test_the_time_limit_keeps_room_for_the_evaluation_it_will_owe():
    requests = {}
    history = [{"epoch": 1, "mAP": 0.1, "eval_seconds": 30.0}, {"epoch": 2}]
    trainer = SimpleNamespace(state=SimpleNamespace(history=history, epoch=2), elapsed_seconds=lambda: 575.0,
                              request_stop=lambda reason, message: requests.setdefault(reason, message))
    hook = TimeLimit(10)  # 600 s: 575 s + the 30 s the last evaluation took would overrun it
    hook.trainer = trainer
    assert hook.final_evaluation_seconds() == 30.0
    hook.after_step(3, 0)
    assert "keeping 30 s for evaluating that epoch" in requests[StopReason.TIME_LIMIT]
    requests.clear()
    history[-1]["mAP"] = 0.2  # evaluated: nothing owed, so no room is kept
    hook.after_step(3, 0)
    assert not requests
