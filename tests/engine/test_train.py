"""`train` end to end on a tiny synthetic set: the run directory, and every stop reason made to happen."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from reidlab.data.prefetch import prefetched
from reidlab.engine.hooks import CallbackHook, PauseAfterEpoch
from reidlab.engine.train import train
from reidlab.rundir import RunDirError, load_checkpoint

CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
RUN_FILES = ["config.yaml", "log.txt", "training_history.json", "model_info.json", "STOPPING_REASON.txt", "model_final.pth", "last_checkpoint.pth"]


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def raise_at(epoch: int, step: int, error: BaseException):
    def hook(trainer, e, s):
        if (e, s) == (epoch, step):
            raise error

    return [CallbackHook(after_step=hook)]


def test_full_run_writes_the_whole_run_directory(tmp_path, tiny_overrides):
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run"))
    run = tmp_path / "run"
    assert result.stop.reason.value == "max_epochs" and result.exit_code == 0
    for name in RUN_FILES + ["best_model.pth", "eval/best_per_query.npz"]:
        assert (run / name).is_file(), name

    history = read_json(run / "training_history.json")
    assert [r["epoch"] for r in history] == [1, 2]
    for key in ("iterations", "lr", "loss", "loss_ce", "loss_triplet", "train_seconds", "images_per_second",
                "mAP", "rank1", "rank5", "rank10", "mINP", "grad_norm", "update_ratio_backbone",
                "update_ratio_head", "unchanged_fraction", "cls_accuracy", "triplet_active_fraction", "dist_ap", "dist_an",
                "nonfinite_grad_fraction"):
        assert key in history[0], key
    assert history[0]["nonfinite_grad_fraction"] == 0.0
    assert history[0]["loss"] == pytest.approx(history[0]["loss_ce"] + history[0]["loss_triplet"], rel=1e-5)
    assert history[0]["update_ratio_backbone"] > 0 and history[0]["unchanged_fraction"] < 0.5

    info = read_json(run / "model_info.json")
    assert info["status"] == "finished"
    assert info["stop"]["reason"] == "max_epochs"
    assert info["num_classes"] == 8
    assert info["best"]["mAP"] == max(r["mAP"] for r in history)
    assert info["hyperparameters"]["SOLVER.IMS_PER_BATCH"] == 8
    assert info["final"]["epoch"] == 2 and info["epochs_run"] == 2

    best = load_checkpoint(run / "best_model.pth")
    assert best["epoch"] == info["best"]["epoch"] and best["metrics"]["mAP"] == info["best"]["mAP"]
    with np.load(run / "eval/best_per_query.npz") as per_query:
        assert int(per_query["epoch"]) == info["best"]["epoch"]
        assert float(per_query["ap"][per_query["valid"]].mean()) == pytest.approx(info["best"]["mAP"], abs=1e-6)

    text = (run / "STOPPING_REASON.txt").read_text()
    assert "STOPPING REASON: max_epochs" in text and f"Best mAP: {info['best']['mAP']:.4f}" in text
    assert "SOLVER.BASE_LR" in text and "loss_ce" in text
    assert "mAP" in (run / "log.txt").read_text()


def test_patience_exhausted(tmp_path, tiny_overrides):
    extra = {"SOLVER.MAX_EPOCH": 5, "SOLVER.EARLY_STOP.PATIENCE": 1, "SOLVER.EARLY_STOP.MIN_DELTA": 1.0}
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", extra))
    assert result.stop.reason.value == "patience_exhausted" and result.exit_code == 0
    assert result.stop.epoch == 2  # epoch 1 sets the best; no later one can beat it by 1.0
    assert "did not improve for 1 evaluations" in (tmp_path / "run" / "STOPPING_REASON.txt").read_text()


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), MemoryError()])
def test_out_of_memory_keeps_the_best_model_and_advises_a_batch_size(tmp_path, tiny_overrides, error):
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.AMP.ENABLED": False}), hooks=raise_at(2, 0, error))
    run = tmp_path / "run"
    assert result.stop.reason.value == "out_of_memory" and result.exit_code == 1
    assert (run / "best_model.pth").is_file() and (run / "model_final.pth").is_file()
    text = (run / "STOPPING_REASON.txt").read_text()
    assert "Lower SOLVER.IMS_PER_BATCH from 8 to 4 and keep DATALOADER.NUM_INSTANCE 2" in text
    assert "SOLVER.AMP.ENABLED True" in text
    assert read_json(run / "model_info.json")["stop"]["reason"] == "out_of_memory"


def test_non_finite_loss_stops_at_once(tmp_path, tiny_overrides):
    def poison(trainer, epoch, step):
        if (epoch, step) == (2, 0):
            with torch.no_grad():
                trainer.model.head.classifier.weight.fill_(float("nan"))

    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 4}), hooks=[CallbackHook(after_step=poison)])
    run = tmp_path / "run"
    assert result.stop.reason.value == "diverged" and result.exit_code == 1
    assert "Loss became nan at epoch 2, iteration 2" in result.stop.message
    assert len(read_json(run / "training_history.json")) == 1  # stopped inside epoch 2
    assert load_checkpoint(run / "best_model.pth")["epoch"] == 1
    assert "Lower SOLVER.BASE_LR" in (run / "STOPPING_REASON.txt").read_text()


def test_any_other_error_is_recorded_with_its_text(tmp_path, tiny_overrides):
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run"), hooks=raise_at(1, 1, ValueError("boom in the loop")))
    run = tmp_path / "run"
    assert result.stop.reason.value == "error" and result.exit_code == 1
    assert read_json(run / "model_info.json")["stop"]["message"] == "ValueError: boom in the loop"
    assert "Traceback" in (run / "log.txt").read_text()
    assert not (run / "best_model.pth").exists()
    assert "No epoch was evaluated" in (run / "STOPPING_REASON.txt").read_text()


def test_time_limit(tmp_path, tiny_overrides):
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.TIME_LIMIT_MINUTES": 1e-6}))
    assert result.stop.reason.value == "time_limit" and result.exit_code == 0
    text = (tmp_path / "run" / "STOPPING_REASON.txt").read_text()
    assert "--resume SOLVER.TIME_LIMIT_MINUTES 2e-06" in text, "a plain --resume would stop at once: the limit counts earlier sessions"


def test_an_existing_run_is_never_overwritten(tmp_path, tiny_overrides):
    overrides = tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1})
    train(CONFIG, overrides=overrides)
    before = (tmp_path / "run" / "model_info.json").read_bytes()
    with pytest.raises(RunDirError, match="already holds a run; continue it with --resume"):
        train(CONFIG, overrides=overrides)
    assert (tmp_path / "run" / "model_info.json").read_bytes() == before


def test_resume_continues_to_a_larger_max_epoch(tmp_path, tiny_overrides):
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1}))
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 2}), resume=True)
    history = read_json(tmp_path / "run" / "training_history.json")
    assert [r["epoch"] for r in history] == [1, 2]
    info = read_json(tmp_path / "run" / "model_info.json")
    assert len(info["resumed"]) == 1 and info["epochs_run"] == 2 and result.stop.reason.value == "max_epochs"
    assert all(math.isfinite(r["loss"]) for r in history)


def test_tensorboard_scalars_are_written_when_installed(tmp_path, tiny_overrides):
    pytest.importorskip("tensorboard")
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1}))
    events = list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*"))
    assert events
    written = b"".join(path.read_bytes() for path in events)
    assert b"hparam/best_mAP" in written and b"SOLVER.BASE_LR" in written  # the HParams tab: hyperparameters against the best mAP


def test_tensorboard_shows_the_worst_queries_at_each_new_best_epoch(tmp_path, tiny_overrides):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from reidlab.evaluation.rank_pictures import FRAME, GAP, HEADER_H, TEXT_H, TILE_H

    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 2, "SOLVER.EARLY_STOP.ENABLED": False}))
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    images = events.Images("worst_queries")
    history = read_json(tmp_path / "run" / "training_history.json")
    new_bests = [r["epoch"] for i, r in enumerate(history) if r["mAP"] > max([h["mAP"] for h in history[:i]], default=-1)]
    assert [image.step for image in images] == new_bests and result.best["epoch"] == new_bests[-1]
    per_query = np.load(tmp_path / "run" / "eval" / "best_per_query.npz")
    grid_height = HEADER_H + TILE_H + 2 * FRAME + TEXT_H + 2 * GAP
    assert images[-1].height == min(20, int(per_query["valid"].sum())) * grid_height  # one rank list per worst query


def test_pause_at_an_epoch_budget_then_resume_keeps_the_schedule(tmp_path, tiny_overrides):
    overrides = tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 3, "SOLVER.EARLY_STOP.ENABLED": False})
    paused = train(CONFIG, overrides=overrides, hooks=[PauseAfterEpoch(1)])
    assert paused.stop.reason.value == "paused" and paused.exit_code == 0
    assert "--resume" in (tmp_path / "run" / "STOPPING_REASON.txt").read_text()
    finished = train(CONFIG, overrides=overrides, resume=True)
    assert finished.stop.reason.value == "max_epochs"
    assert [r["epoch"] for r in read_json(tmp_path / "run" / "training_history.json")] == [1, 2, 3]


@pytest.mark.parametrize("how", ["request", "raise"])
def test_a_hook_can_end_the_run_with_its_own_reason(tmp_path, tiny_overrides, how):
    from reidlab.engine.stop_reasons import StopReason, StopRequested

    def prune(trainer, epoch, record):
        if "mAP" in record:
            message = f"mAP {record['mAP']:.3f} below the median at epoch {epoch}"
            if how == "raise":
                raise StopRequested(StopReason.PRUNED, message)
            trainer.request_stop(StopReason.PRUNED, message)

    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run"), hooks=[CallbackHook(after_epoch=prune)])
    assert result.stop.reason.value == "pruned" and result.stop.epoch == 1
    assert "below the median at epoch 1" in (tmp_path / "run" / "STOPPING_REASON.txt").read_text()
    assert read_json(tmp_path / "run" / "model_info.json")["stop"]["reason"] == "pruned"


def test_when_several_ends_are_asked_at_once_the_most_decisive_wins(tmp_path, tiny_overrides):
    """Pruned beats patience beats a signal beats the time limit beats a pause, whatever order the hooks ask in."""
    from reidlab.engine.stop_reasons import StopReason

    def ask_everything(trainer, epoch, record):
        for reason in (StopReason.PAUSED, StopReason.TIME_LIMIT, StopReason.PATIENCE_EXHAUSTED):
            trainer.request_stop(reason, f"{reason.value} asked")

    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run"), hooks=[CallbackHook(after_epoch=ask_everything)])
    assert (result.stop.reason, result.stop.message, result.stop.epoch) == (StopReason.PATIENCE_EXHAUSTED, "patience_exhausted asked", 1)


def test_a_stop_asked_after_a_step_ends_the_run_before_the_next_update(tmp_path, tiny_overrides):
    from reidlab.engine.stop_reasons import StopReason

    seen = []

    def ask_at_the_second_step(trainer, epoch, step):
        seen.append(trainer.state.iteration)
        if step == 1:
            trainer.request_stop(StopReason.TIME_LIMIT, "out of time")

    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run"), hooks=[CallbackHook(after_step=ask_at_the_second_step)])
    assert result.stop.reason is StopReason.TIME_LIMIT and result.stop.epoch == 0
    assert seen == [1, 2]  # the third step's forward ran, its update did not
    assert read_json(tmp_path / "run" / "model_info.json")["iterations"] == 2


def test_non_finite_embeddings_at_evaluation_count_as_divergence(tmp_path, tiny_overrides):
    def poison_bn_statistics(trainer, epoch, step):
        if step == trainer.iters_per_epoch - 1:  # the training loss uses batch statistics; evaluation the running ones
            trainer.model.head.bottleneck.running_var.fill_(float("nan"))

    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run"), hooks=[CallbackHook(after_step=poison_bn_statistics)])
    assert result.stop.reason.value == "diverged" and result.exit_code == 1
    assert "Evaluation after epoch 1" in result.stop.message and "NaN or inf" in result.stop.message
    assert "Lower SOLVER.BASE_LR" in (tmp_path / "run" / "STOPPING_REASON.txt").read_text()


def test_freeze_layers_hold_the_backbone_still_for_freeze_iters(tmp_path, tiny_overrides, one_torch_thread):
    """fast-reid's freeze: no update and fixed BatchNorm statistics in the frozen part, then training as usual."""
    wanted = {(1, 0), (1, 3), (2, 3)}  # 4 iterations per epoch: the first frozen step, the last frozen one, one after
    states: dict = {}

    def snapshot(trainer, epoch, step):
        if (epoch, step) in wanted:
            states[(epoch, step)] = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    extra = {"MODEL.FREEZE_LAYERS": "[backbone]", "SOLVER.FREEZE_ITERS": 4, "SOLVER.MAX_EPOCH": 2, "SOLVER.EARLY_STOP.ENABLED": False}
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", extra), hooks=[CallbackHook(after_step=snapshot)])
    assert result.stop.reason.value == "max_epochs"
    first, last_frozen, after = states[(1, 0)], states[(1, 3)], states[(2, 3)]
    backbone = [k for k in first if k.startswith("backbone.") and first[k].is_floating_point()]
    head = [k for k in first if k.startswith("head.") and first[k].is_floating_point()]
    assert all(torch.equal(first[k], last_frozen[k]) for k in backbone), "weights and BatchNorm statistics stay fixed"
    assert any(not torch.equal(first[k], last_frozen[k]) for k in head), "the head trains meanwhile"
    assert any(not torch.equal(last_frozen[k], after[k]) for k in backbone if k.endswith("weight"))
    assert any(not torch.equal(last_frozen[k], after[k]) for k in backbone if k.endswith("running_mean"))
    history = read_json(tmp_path / "run" / "training_history.json")
    assert history[0]["update_ratio_backbone"] < history[1]["update_ratio_backbone"]
    log = (tmp_path / "run" / "log.txt").read_text()
    assert "MODEL.FREEZE_LAYERS ['backbone'] frozen for the first 4 iterations" in log
    assert "MODEL.FREEZE_LAYERS ['backbone'] train from iteration 5 on" in log


def test_a_patience_that_cannot_fire_is_warned_about_at_the_start(tmp_path, tiny_overrides):
    """fast-reid's bag of tricks evaluates 4 times in 120 epochs: a patience of 10 evaluations could never end it."""
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.EARLY_STOP.PATIENCE": 2}))
    log = (tmp_path / "run" / "log.txt").read_text()
    assert "early stopping cannot end this run: 2 evaluations (SOLVER.MAX_EPOCH 2, TEST.EVAL_PERIOD 1) but SOLVER.EARLY_STOP.PATIENCE 2" in log
    train(CONFIG, overrides=tiny_overrides(tmp_path / "fine", {"SOLVER.EARLY_STOP.PATIENCE": 1}))
    assert "early stopping cannot end this run" not in (tmp_path / "fine" / "log.txt").read_text()


def test_batches_prepared_ahead_in_a_thread_change_no_number(tmp_path, tiny_overrides, monkeypatch):
    """The GPU path prepares batches in a background thread; it must train on exactly the plain loop's batches."""
    plain = train(CONFIG, overrides=tiny_overrides(tmp_path / "plain"))
    monkeypatch.setattr("reidlab.engine.trainer.prefetched_for", lambda loader, device: prefetched(loader, depth=2))
    monkeypatch.setattr("reidlab.engine.inference.prefetched_for", lambda loader, device: prefetched(loader, depth=2))
    ahead = train(CONFIG, overrides=tiny_overrides(tmp_path / "ahead"))
    numbers = ("loss", "loss_ce", "loss_triplet", "grad_norm", "mAP", "rank1")
    rows = [[{k: r[k] for k in numbers} for r in read_json(result.run_dir / "training_history.json")] for result in (plain, ahead)]
    assert rows[0] == rows[1]


def test_cudnn_benchmark_follows_the_config_key(tmp_path, tiny_overrides):
    before = torch.backends.cudnn.benchmark
    try:
        for value in (True, False):
            train(CONFIG, overrides=tiny_overrides(tmp_path / str(value), {"CUDNN_BENCHMARK": value, "SOLVER.MAX_EPOCH": 1}))
            assert torch.backends.cudnn.benchmark is value
    finally:
        torch.backends.cudnn.benchmark = before


def test_grad_norm_is_the_mean_over_steps_with_finite_gradients(tmp_path, tiny_overrides, monkeypatch):
    """A GradScaler skips steps with inf/NaN gradients; they are counted apart and leave the mean norm finite."""
    from reidlab.engine import health

    norms: list[float] = []

    def first_step_of_each_epoch_infinite(params):
        norm = health.gradient_norm(params)
        norms.append(float(norm))
        return torch.tensor(math.inf) if len(norms) % 4 == 1 else norm

    monkeypatch.setattr("reidlab.engine.trainer.gradient_norm", first_step_of_each_epoch_infinite)
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1}))
    record = read_json(tmp_path / "run" / "training_history.json")[0]
    assert record["iterations"] == 4 and record["nonfinite_grad_fraction"] == 0.25
    assert record["grad_norm"] == pytest.approx(sum(norms[1:4]) / 3, rel=1e-5)
    assert "(25% of steps inf/NaN)" in (tmp_path / "run" / "log.txt").read_text()


def test_grad_norm_is_null_when_every_step_had_inf_gradients(tmp_path, tiny_overrides, monkeypatch):
    monkeypatch.setattr("reidlab.engine.trainer.gradient_norm", lambda params: torch.tensor(math.inf))
    train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1}))
    record = read_json(tmp_path / "run" / "training_history.json")[0]
    assert record["grad_norm"] is None and record["nonfinite_grad_fraction"] == 1.0
    assert "grad_norm inf/NaN in every step" in (tmp_path / "run" / "log.txt").read_text()


def test_train_warns_at_the_start_when_warmup_outlasts_the_run(tmp_path, tiny_overrides):
    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1, "SOLVER.WARMUP_ITERS": 2000, "SOLVER.STEPS": "[40, 90]"}))
    log = (result.run_dir / "log.txt").read_text(encoding="utf-8")
    first_epoch = log.index("epoch 1/1")
    warmup = log.index("warning: SOLVER.WARMUP_ITERS 2000 is")
    steps = log.index("warning: SOLVER.STEPS [40, 90] are at or after SOLVER.MAX_EPOCH 1")
    assert warmup < first_epoch and steps < first_epoch  # said before training, not afterwards
    assert "Warm-up covered most of the run" in (result.run_dir / "STOPPING_REASON.txt").read_text(encoding="utf-8")
