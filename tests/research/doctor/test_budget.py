"""The doctor's own time budget: the run's time limit does not apply, a slow step ends a check in plain
words with what it measured, the speed check always runs, and bf16 is timed against float32 on the CPU."""

from __future__ import annotations

import time

import reidlab.engine.amp as amp
import reidlab.research.doctor.command as doctor
from reidlab.engine.trainer import Trainer
from reidlab.research.doctor import run_doctor
from reidlab.research.doctor.precision import PrecisionTiming, whole_identities

TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


def _run(tmp_path, tiny_overrides, extra=None, **kwargs):
    report = run_doctor(TINY_CONFIG, tiny_overrides(tmp_path / "run", extra), progress=lambda _: None, **kwargs)
    return report, {c.name: c for c in report.checks}


def test_the_runs_time_limit_does_not_cut_the_doctors_checks(tmp_path, tiny_overrides):
    _, checks = _run(tmp_path, tiny_overrides, {"SOLVER.TIME_LIMIT_MINUTES": 0.0001}, steps=6, speed_steps=2)
    assert checks["overfit"].numbers["steps_done"] == 6 and checks["speed_eta"].numbers["timed_steps"] == 2


def test_a_slow_step_ends_the_overfit_at_its_budget_and_says_so_in_plain_words(tmp_path, tiny_overrides, monkeypatch):
    real_step = Trainer.train_step

    def slow_step(self, *args, **kwargs):
        time.sleep(0.2)
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train_step", slow_step)
    report, checks = _run(tmp_path, tiny_overrides, {"SOLVER.BASE_LR": 1.0e-7, "SOLVER.AMP.ENABLED": False}, steps=30, speed_steps=8, check_seconds=0.5)
    overfit = checks["overfit"]
    assert overfit.status.value == "WARN" and 2 <= overfit.numbers["steps_done"] < 30
    assert "its 0.5 s budget ran out" in overfit.summary and "too few to tell whether the model can learn" in overfit.cause
    assert "--check-seconds" in overfit.fix
    speed = checks["speed_eta"]
    assert speed.status.value != "SKIP" and speed.numbers["timed_steps"] < 8 and "fitted the check's" in speed.note
    text = report.render()
    assert "_TimeUp" not in text and "see the error" not in text


def test_bf16_is_timed_against_float32_on_a_cpu_without_native_bf16(tmp_path, tiny_overrides, monkeypatch):
    for module in (amp, doctor):
        monkeypatch.setattr(module, "cpu_has_native_bf16", lambda: False)
    report, checks = _run(tmp_path, tiny_overrides, {"SOLVER.AMP.ENABLED": True}, steps=3, speed_steps=2)
    speed = checks["speed_eta"]
    assert "float32" in report.amp and speed.numbers["fp32_images_per_second"] > 0 and speed.numbers["bf16_images_per_second"] > 0
    assert "this CPU has no native bf16" in speed.note and "bf16 autocast" in speed.note and "vs float32" in speed.note


def test_bf16_slower_than_float32_is_a_speed_warning_with_the_fix(tmp_path, tiny_overrides, monkeypatch):
    for module in (amp, doctor):
        monkeypatch.setattr(module, "cpu_has_native_bf16", lambda: True)  # AMP then trains in bf16, as on such a CPU
    monkeypatch.setattr(doctor, "time_precisions", lambda *args: PrecisionTiming(16, 10.0, 3.0, True, False))
    _, checks = _run(tmp_path, tiny_overrides, {"SOLVER.AMP.ENABLED": True}, steps=3, speed_steps=2)
    speed = checks["speed_eta"]
    assert speed.status.value == "WARN" and "x0.30 the speed of float32" in speed.cause and speed.fix == "SOLVER.AMP.ENABLED False (float32)"
    monkeypatch.setattr(doctor, "time_precisions", lambda *args: PrecisionTiming(16, 10.0, 17.0, True, False))
    _, faster = _run(tmp_path / "faster", tiny_overrides, {"SOLVER.AMP.ENABLED": True}, steps=3, speed_steps=2)
    assert "speed of float32" not in faster["speed_eta"].cause  # bf16 that pays is no warning


def test_the_precision_batch_is_whole_identities():
    import torch

    targets = torch.tensor([3, 3, 3, 3, 5, 5, 5, 5, 9, 9, 9, 9, 1, 1, 1, 1, 2, 2, 2, 2])
    images = torch.arange(20).float()[:, None]
    _, kept = whole_identities(images, targets, at_least=10)
    assert kept.tolist() == [3] * 4 + [5] * 4 + [9] * 4
    _, small = whole_identities(images, targets, at_least=1)
    assert small.unique().tolist() == [3, 5]  # never fewer than two identities: the triplet loss needs a negative


def test_a_budget_that_fits_only_the_first_step_uses_it_and_says_so():
    from reidlab.research.doctor.precision import _images_per_second

    calls = []
    per_second, first_only = _images_per_second(lambda: calls.append(time.sleep(0.01)), 8, budget_s=0.0)
    assert len(calls) == 1 and first_only and 0 < per_second <= 8 / 0.01
    assert "only a first step fitted the budget" in PrecisionTiming(8, 10.0, 2.0, False, True).sentence()
    assert "only a first step" not in PrecisionTiming(8, 10.0, 2.0, False, False).sentence()
