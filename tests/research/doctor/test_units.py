"""The doctor's arithmetic and report, without data or a model: ETA with the early-stopping bound, durations, text."""

from __future__ import annotations

import json

import pytest

from reidlab.config import load_config
from reidlab.research.doctor import CheckResult, DoctorReport, Status
from reidlab.research.doctor.speed_check import earliest_stop_epoch, estimate_run_time, evaluation_epochs, format_duration

MARKET = "configs/Market1501/bagtricks_R50.yml"


def _cfg(**values):
    return load_config(MARKET, [item for pair in values.items() for item in pair])


def test_evaluations_follow_the_period_and_always_the_last_epoch():
    assert evaluation_epochs(_cfg(**{"SOLVER.MAX_EPOCH": "100", "TEST.EVAL_PERIOD": "30"})) == [30, 60, 90, 100]


def test_earliest_early_stop_is_first_evaluation_plus_patience_evaluations():
    cfg = _cfg(**{"SOLVER.MAX_EPOCH": "120", "TEST.EVAL_PERIOD": "10", "SOLVER.EARLY_STOP.PATIENCE": "3"})
    assert earliest_stop_epoch(cfg) == 40  # best at 10, no improvement at 20, 30, 40
    assert earliest_stop_epoch(_cfg(**{"SOLVER.MAX_EPOCH": "120", "TEST.EVAL_PERIOD": "30", "SOLVER.EARLY_STOP.PATIENCE": "10"})) == 120
    assert earliest_stop_epoch(_cfg(**{"SOLVER.MAX_EPOCH": "120", "TEST.EVAL_PERIOD": "10", "SOLVER.EARLY_STOP.ENABLED": "False"})) == 120


def test_run_time_counts_epochs_and_the_evaluations_before_the_stop():
    cfg = _cfg(**{"SOLVER.MAX_EPOCH": "120", "TEST.EVAL_PERIOD": "10", "SOLVER.EARLY_STOP.PATIENCE": "3"})
    estimate = estimate_run_time(cfg, iters_per_epoch=200, seconds_per_iteration=0.5, evaluation_seconds=60.0)
    assert estimate.epoch_seconds == 100.0
    assert estimate.earliest_seconds == pytest.approx(40 * 100 + 4 * 60)
    assert estimate.full_seconds == pytest.approx(120 * 100 + 12 * 60)


def test_durations_read_naturally():
    assert [format_duration(s) for s in (0.42, 12, 250, 3 * 3600 + 300, 50 * 3600)] == ["0.4 s", "12 s", "4 min 10 s", "3 h 05 min", "2 d 02 h"]


def test_report_shows_cause_and_fix_and_fails_on_any_failure(tmp_path):
    report = DoctorReport("cfg.yml", ["SOLVER.BASE_LR", "0"], "cpu", "off")
    report.checks = [
        CheckResult("dataset", "data set", Status.PASS, "8 ids"),
        CheckResult("weights_change", "weights change", Status.FAIL, "backbone 0.00e+00", {"update_ratio_backbone": 0.0}, cause="LR 0", fix="raise it"),
        CheckResult("speed_eta", "speed and ETA", Status.WARN, "slow"),
    ]
    text = report.render()
    assert "FAIL  weights change  backbone 0.00e+00" in text and "cause: LR 0" in text and "fix: raise it" in text
    assert "1 passed, 1 warnings, 1 failed" in text
    assert report.exit_code == 1
    data = json.loads(report.write_json(tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["exit_code"] == 1 and data["checks"][1]["status"] == "FAIL" and data["checks"][1]["numbers"]["update_ratio_backbone"] == 0.0
    report.checks = [report.checks[0], report.checks[2]]
    assert report.exit_code == 0
