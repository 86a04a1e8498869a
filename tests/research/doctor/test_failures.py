"""Each doctor check fails on purpose, with its numbers, a cause and a fix, and the doctor exits non-zero."""

from __future__ import annotations

import pytest
import torch

import reidlab.research.doctor.command as doctor
from reidlab.engine.trainer import Trainer
from reidlab.research.doctor import run_doctor

TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


def _run(tmp_path, tiny_overrides, extra: dict | None = None, steps: int = 2):
    report = run_doctor(TINY_CONFIG, tiny_overrides(tmp_path / "run", extra), steps=steps, speed_steps=1, progress=lambda _: None)
    assert not (tmp_path / "run").exists()
    return report, {c.name: c for c in report.checks}


def _statuses(checks) -> dict[str, str]:
    return {name: c.status.value for name, c in checks.items()}


@pytest.mark.parametrize(
    ("batch", "k", "message"),
    [(6, 4, "not divisible by DATALOADER.NUM_INSTANCE 4"), (40, 4, "a batch needs 10 identities")],
)
def test_batch_that_does_not_fit_fails_the_data_check(tmp_path, tiny_overrides, batch, k, message):
    report, checks = _run(tmp_path, tiny_overrides, {"SOLVER.IMS_PER_BATCH": batch, "DATALOADER.NUM_INSTANCE": k})
    data = checks["dataset"]
    assert report.exit_code == 1 and data.status.value == "FAIL"
    assert (data.numbers["ims_per_batch"], data.numbers["num_instance"], data.numbers["ids"]) == (batch, k, 8)
    assert data.numbers["identities_per_batch"] == batch / k
    assert message in data.cause and "SOLVER.IMS_PER_BATCH" in data.fix
    assert "does not fit" in data.summary
    assert {checks[n].status.value for n in checks if n != "dataset"} == {"SKIP"}
    assert "FAIL  data set" in report.render()


def test_labels_beyond_the_classifier_fail_without_a_traceback(tmp_path, tiny_overrides):
    report, checks = _run(tmp_path, tiny_overrides, {"MODEL.HEADS.NUM_CLASSES": 4})
    labels = checks["labels"]
    assert report.exit_code == 1 and labels.status.value == "FAIL"
    assert (labels.numbers["max_target"], labels.numbers["ids"], labels.numbers["classifier_outputs"]) == (7, 8, 4)
    assert "targets 0..7 (8 ids) but the classifier has 4 outputs" in labels.summary
    assert "MODEL.HEADS.NUM_CLASSES 0" in labels.fix
    assert checks["overfit"].status.value == "SKIP"


def test_frozen_weights_fail_the_weights_check(tmp_path, tiny_overrides, monkeypatch):
    build = doctor.build_training_model

    def build_frozen(cfg, num_classes, device):
        model, weights = build(cfg, num_classes, device)
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        return model, weights

    monkeypatch.setattr(doctor, "build_training_model", build_frozen)
    report, checks = _run(tmp_path, tiny_overrides)
    weights = checks["weights_change"]
    assert report.exit_code == 1 and weights.status.value == "FAIL"
    assert weights.numbers["trainable_parameters"] == 0 and weights.numbers["parameters"] > 1_000_000
    assert "frozen" in weights.cause and "requires_grad" in weights.cause
    assert _statuses(checks)["overfit"] == "SKIP"


def test_zero_learning_rate_fails_overfit_and_weights(tmp_path, tiny_overrides):
    report, checks = _run(tmp_path, tiny_overrides, {"SOLVER.BASE_LR": 0, "SOLVER.MAX_EPOCH": 3, "SOLVER.STEPS": "[2]"})  # a schedule that fits the run
    overfit, weights = checks["overfit"], checks["weights_change"]
    assert report.exit_code == 1
    assert overfit.status.value == "FAIL" and overfit.numbers["lr"] == 0 and overfit.cause == "the learning rate is 0"
    assert overfit.numbers["factor"] == pytest.approx(1.0, abs=0.05)
    assert weights.status.value == "FAIL"
    assert weights.numbers["update_ratio_backbone"] == 0 and weights.numbers["update_ratio_head"] == 0
    assert "learning rate is 0" in weights.cause and "SOLVER.BASE_LR" in weights.fix
    assert checks["loss_at_init"].status.value == "PASS" and checks["speed_eta"].status.value == "PASS"


class FlatBufferTrainer(Trainer):
    """fast-reid 1.4 on torch 2: the optimiser steps a flattened copy of the weights, never the model's own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        copies = [p.detach().clone().requires_grad_(True) for p in self.trainable]
        self.optimizer = torch.optim.Adam(copies, lr=self.cfg.SOLVER.BASE_LR)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")
def test_optimizer_over_a_copy_of_the_weights_is_caught(tmp_path, tiny_overrides, monkeypatch):
    monkeypatch.setattr(doctor, "Trainer", FlatBufferTrainer)
    report, checks = _run(tmp_path, tiny_overrides)
    weights = checks["weights_change"]
    assert report.exit_code == 1 and weights.status.value == "FAIL"
    assert weights.numbers["optimizer_tensors_backbone"] == 0 and weights.numbers["trainable_tensors_backbone"] > 0
    assert "ContiguousParams" in weights.cause
    assert "unchanged: backbone, head" in weights.summary


def test_a_backbone_frozen_by_freeze_iters_is_a_warning_not_a_failure(tmp_path, tiny_overrides):
    """SBS freezes the backbone for its first 1000 iterations: the doctor's few steps fall within, on purpose."""
    report, checks = _run(tmp_path, tiny_overrides, {"MODEL.FREEZE_LAYERS": "[backbone]", "SOLVER.FREEZE_ITERS": 1000})
    weights = checks["weights_change"]
    assert weights.status.value == "WARN", weights.summary
    assert weights.numbers["update_ratio_backbone"] == 0 and weights.numbers["update_ratio_head"] > 0
    assert "backbone held still on purpose: MODEL.FREEZE_LAYERS for the first 1000 iterations" in weights.summary


def test_a_warmup_longer_than_the_run_is_a_speed_check_warning(tmp_path, tiny_overrides):
    report, checks = _run(tmp_path, tiny_overrides, {"SOLVER.WARMUP_ITERS": 2000})
    speed = checks["speed_eta"]
    assert speed.status.value == "WARN" and "SOLVER.WARMUP_ITERS 2000 is" in speed.cause and "set SOLVER.WARMUP_ITERS" in speed.fix
    _, fitting = _run(tmp_path / "fits", tiny_overrides, {"SOLVER.WARMUP_ITERS": 1})
    assert "WARMUP" not in fitting["speed_eta"].cause
