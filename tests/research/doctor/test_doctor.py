"""`reidlab doctor` on a healthy tiny config: every check passes, the numbers are real, nothing is written."""

from __future__ import annotations

import argparse
import json

import pytest

from reidlab.cli.doctor_command import add_doctor_command

TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


def _doctor_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reidlab")
    add_doctor_command(parser.add_subparsers(dest="command", required=True))
    return parser


def test_healthy_config_passes_every_check_and_writes_nothing(tmp_path, monkeypatch, capsys, tiny_overrides):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "runs" / "doctor_run"
    report_file = tmp_path / "doctor.json"
    argv = ["doctor", "--config-file", TINY_CONFIG, "--steps", "10", "--speed-steps", "2", "--json", str(report_file), *tiny_overrides(run_dir, {"SOLVER.MAX_EPOCH": 3, "SOLVER.STEPS": "[2]"})]
    args = _doctor_parser().parse_args(argv)

    assert args.handler(args) == 0

    out = capsys.readouterr().out
    report = json.loads(report_file.read_text(encoding="utf-8"))
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks) == ["dataset", "labels", "model", "loss_at_init", "overfit", "weights_change", "speed_eta"]
    assert {c["status"] for c in checks.values()} == {"PASS"}, out
    assert report["passed"] and report["exit_code"] == 0
    for check in checks.values():
        assert f"PASS  {check['title']}" in out

    data = checks["dataset"]["numbers"]
    assert (data["ids"], data["images"], data["cameras"], data["identities_per_batch"], data["num_instance"]) == (8, 32, 3, 4, 2)
    assert data["batches_per_epoch"] == 4
    assert checks["labels"]["numbers"]["max_target"] == 7 and checks["labels"]["numbers"]["classifier_outputs"] == 8
    init = checks["loss_at_init"]["numbers"]
    assert abs(init["ce"] - init["expected_ce"]) < 0.2 * init["expected_ce"] and init["expected_ce"] == pytest.approx(init["ln_classes"])
    overfit = checks["overfit"]["numbers"]
    assert overfit["final_loss"] <= 0.5 * overfit["initial_loss"] and len(overfit["losses"]) == 10
    assert "warmup skipped" in checks["overfit"]["note"]
    weights = checks["weights_change"]["numbers"]
    assert weights["update_ratio_backbone"] > 1e-4 and weights["update_ratio_head"] > 1e-4
    speed = checks["speed_eta"]["numbers"]
    assert speed["images_per_second"] > 0 and speed["iters_per_epoch"] == 4 and speed["evaluations"] == 3
    assert speed["eta_full_seconds"] >= speed["epoch_seconds"] * 2

    # read-only on the user's side: no run directory, no logs/ folder
    assert not run_dir.exists() and not (tmp_path / "logs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doctor.json"]


def test_doctor_arguments_parse():
    args = _doctor_parser().parse_args(["doctor", "--config-file", "F.yml", "SOLVER.BASE_LR", "0.001"])
    assert (args.config_file, args.steps, args.speed_steps, args.json, args.opts) == ("F.yml", 30, 8, None, ["SOLVER.BASE_LR", "0.001"])
