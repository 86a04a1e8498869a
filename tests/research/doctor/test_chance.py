"""The doctor's loss-at-init check with a cosine classifier (SBS's CircleSoftmax): chance is not ln(#ids) there."""

from __future__ import annotations

import math

import pytest
import torch

import reidlab.research.doctor.overfit_check as doctor_overfit
from reidlab.config import load_config
from reidlab.modeling.chance import chance_cross_entropy
from reidlab.research.doctor import run_doctor
from reidlab.research.doctor.overfit_check import OverfitTrace, check_loss_at_init

TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
# SBS's classifier and losses on the tiny ResNet18 demo config (DEPTH 18x).
SBS_LIKE = {
    "MODEL.HEADS.CLS_LAYER": "CircleSoftmax",
    "MODEL.HEADS.SCALE": 64,
    "MODEL.HEADS.MARGIN": 0.35,
    "MODEL.HEADS.NECK_FEAT": "after",
    "MODEL.LOSSES.CE.EPSILON": 0.1,
    "MODEL.LOSSES.TRI.MARGIN": 0.0,
}


def _run(tmp_path, tiny_overrides, extra: dict | None = None):
    report = run_doctor(TINY_CONFIG, tiny_overrides(tmp_path / "run", {**SBS_LIKE, **(extra or {})}), steps=2, speed_steps=1, progress=lambda _: None)
    return report, {c.name: c for c in report.checks}


def test_an_sbs_like_config_passes_the_loss_at_init_check_against_its_cosine_chance(tmp_path, tiny_overrides, one_torch_thread):
    _, checks = _run(tmp_path, tiny_overrides)
    init = checks["loss_at_init"]
    assert init.status.value == "PASS", init.summary
    expected = chance_cross_entropy("CircleSoftmax", 8, 64, 0.35, 0.1)
    assert init.numbers["expected_ce"] == pytest.approx(expected) and expected > math.log(8) + 40
    assert abs(init.numbers["ce"] / expected - 1) <= 0.2 and init.numbers["ln_classes"] == pytest.approx(math.log(8))
    assert "CircleSoftmax CE at cosine 0 (SCALE 64, MARGIN 0.35, CE.EPSILON 0.1, 8 classes)" in init.summary
    assert f"not ln(8) = {math.log(8):.3f}" in init.note


def _separating_classifier(original):
    """The classifier already knows the fixed batch: each class weight is the mean neck feature of its images."""

    def overfit(trainer, images, targets, steps, budget_s):
        model = trainer.model
        with torch.no_grad():
            features = model.train()(images)["features"]  # NECK_FEAT after: the neck feature the cosines use
            for target in targets.unique():
                model.head.classifier.weight[target] = features[targets == target].mean(dim=0)
        return original(trainer, images, targets, steps, budget_s)

    return overfit


def test_a_classifier_that_already_separates_the_batch_still_fails(tmp_path, tiny_overrides, monkeypatch, one_torch_thread):
    monkeypatch.setattr(doctor_overfit, "overfit_fixed_batch", _separating_classifier(doctor_overfit.overfit_fixed_batch))
    report, checks = _run(tmp_path, tiny_overrides)
    init = checks["loss_at_init"]
    assert report.exit_code == 1 and init.status.value == "FAIL", init.summary
    assert init.numbers["ratio"] < 0.8 and "already separates the batch" in init.cause


def test_labels_beyond_the_classifier_still_fail_with_a_cosine_classifier(tmp_path, tiny_overrides):
    report, checks = _run(tmp_path, tiny_overrides, {"MODEL.HEADS.NUM_CLASSES": 4})
    assert report.exit_code == 1 and checks["labels"].status.value == "FAIL"
    assert checks["loss_at_init"].status.value == "SKIP"


def _trace(ce: float) -> OverfitTrace:
    return OverfitTrace(batch_size=8, lr=3.5e-4, losses=[ce], ce=[ce], grad_norms=[1.0])


def _sbs_cfg():
    return load_config(TINY_CONFIG, [item for pair in SBS_LIKE.items() for item in map(str, pair)])


def test_a_cosine_run_at_ln_classes_fails_as_a_margin_that_does_not_reach_the_loss():
    result = check_loss_at_init(_sbs_cfg(), _trace(math.log(751) + 0.01), 751)
    assert result.status.value == "FAIL" and result.numbers["ratio"] < 0.2
    assert "ln(751) = 6.621, a Linear classifier's chance level" in result.cause and "margin_logits" in result.fix


def test_a_cosine_run_far_above_its_chance_fails_as_confident_and_wrong():
    chance = chance_cross_entropy("CircleSoftmax", 751, 64, 0.35, 0.1)
    result = check_loss_at_init(_sbs_cfg(), _trace(2 * chance), 751)
    assert result.status.value == "FAIL" and "far from 0 before training" in result.cause


def test_a_linear_classifier_still_expects_ln_classes():
    cfg = load_config(TINY_CONFIG, ["MODEL.LOSSES.CE.EPSILON", "0.1"])
    result = check_loss_at_init(cfg, _trace(math.log(751)), 751)
    assert result.status.value == "PASS" and result.numbers["expected_ce"] == pytest.approx(math.log(751))
    assert f"CE 6.621 vs chance ln(751) = {math.log(751):.3f}" in result.summary
    assert check_loss_at_init(cfg, _trace(0.5 * math.log(751)), 751).status.value == "FAIL"
