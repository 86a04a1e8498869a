"""Remedy configs and launchers written by `diagnose`: relative `_BASE_`, only changed keys, always valid."""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reidlab.cli.research_commands import add_research_commands
from reidlab.config import load_config
from reidlab.engine.schedule_fit import schedule_warnings
from reidlab.research.diagnose import DiagnoseError, diagnose
from reidlab.research.diagnose.remedies import Remedy, validate_remedy, write_remedies
from reidlab.research.diagnose.remedies.files import SCHEDULE_KEYS
from reidlab.research.runs import flatten_config
from reidlab.rundir import resolve_run_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_findings import epochs, learning, write_run  # noqa: E402

SEED_NAMES = [
    "solution_1_higher_lr",
    "solution_2_cosine_annealing",
    "solution_3_heavy_triplet",
    "solution_4_aggressive_lr_drop",
    "solution_5_smaller_batch_higher_lr",
]


def plateau_run(parent: Path, **kwargs) -> Path:
    """The seed's plateau: CE 6.7 with 751 ids, triplet 2.8."""
    history = epochs(40, loss_ce=lambda e: 6.7, loss_triplet=lambda e: 2.8, mAP=lambda e: 0.03)
    return write_run(parent, history, **kwargs)


def changed_keys(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("_BASE_")
    return flatten_config(data)


def test_the_seeds_five_remedies_relative_to_the_runs_config(tmp_path):
    run = plateau_run(tmp_path / "logs", name="baseline")
    result = diagnose(run, out_configs=tmp_path / "configs", workdir=tmp_path)
    files = {w.remedy.name: w.path for w in result.remedies}
    assert set(SEED_NAMES) <= set(files)
    expected = {
        "solution_1_higher_lr": {"SOLVER.BASE_LR": 0.0007},
        "solution_2_cosine_annealing": {"SOLVER.SCHED": "CosineAnnealingLR"},
        "solution_3_heavy_triplet": {"MODEL.LOSSES.TRI.SCALE": 2.0},
        "solution_4_aggressive_lr_drop": {"SOLVER.BASE_LR": 0.0007, "SOLVER.STEPS": [20, 50]},  # already MultiStepLR
        "solution_5_smaller_batch_higher_lr": {"SOLVER.IMS_PER_BATCH": 8, "SOLVER.BASE_LR": 0.001, "DATALOADER.NUM_INSTANCE": 2},
    }
    for name, changes in expected.items():
        path = files[name]
        text = path.read_text(encoding="utf-8")
        assert text.startswith(f"# {name}:") and "# Tests:" in text and "# Why:" in text
        assert yaml.safe_load(text)["_BASE_"] == "../logs/baseline/config.yaml"
        assert changed_keys(path) == changes  # only the changed keys
        cfg = load_config(path)
        assert cfg.SOLVER.IMS_PER_BATCH % cfg.DATALOADER.NUM_INSTANCE == 0
        assert resolve_run_dir(cfg, name, path) == run.parent / name  # lands next to the original run


def test_solution_5_keeps_a_valid_pk_batch_or_is_not_written(tmp_path):
    few_ids = plateau_run(tmp_path / "a", num_classes=3, num_images=60)
    result = diagnose(few_ids, out_configs=tmp_path / "few", workdir=tmp_path)
    assert "solution_5_smaller_batch_higher_lr" not in [w.remedy.name for w in result.remedies]
    skipped = {s.remedy.name: s.reason for s in result.skipped}
    assert "identities" in skipped["solution_5_smaller_batch_higher_lr"]
    assert not (tmp_path / "few" / "solution_5_smaller_batch_higher_lr.yml").exists()
    for written in result.remedies:
        validate_remedy(written.path, written.remedy.name, 3, 60)


def test_seed_steps_are_scaled_to_a_short_run(tmp_path):
    run = plateau_run(tmp_path / "a", settings={"SOLVER.MAX_EPOCH": "40", "SOLVER.STEPS": "[15, 30]", "SOLVER.WARMUP_ITERS": "200"})
    result = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path)
    drop = next(w for w in result.remedies if w.remedy.name == "solution_4_aggressive_lr_drop")
    assert load_config(drop.path).SOLVER.STEPS == [7, 17]


def test_targeted_remedies_and_the_analysis_files(tmp_path):
    history = epochs(10, loss_ce=lambda e: 6.62, mAP=lambda e: 0.02, update_ratio_backbone=lambda e: 3e-6, update_ratio_head=lambda e: 3e-6)
    run = write_run(tmp_path / "logs", history, settings={"SOLVER.BASE_LR": "1e-7"})
    result = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path)
    facts = json.loads((run / "analysis.json").read_text(encoding="utf-8"))
    assert facts["findings"][0]["code"] == "ce_at_chance" and facts["findings"][0]["remedies"] == ["fix_learning_rate"]
    assert facts["findings"][0]["evidence"]["training_ids"] == 751
    fix = next(r for r in facts["remedies"] if r["name"] == "fix_learning_rate")
    assert load_config(fix["file"]).SOLVER.BASE_LR == pytest.approx(3.5e-4)
    text = (run / "analysis.txt").read_text(encoding="utf-8")
    assert text.index("[CRITICAL]") < text.index("REMEDY CONFIGS") and "Evidence:" in text and "Cause:" in text and "Fix:" in text
    assert result.text == text


def test_defaults_write_configs_under_custom_configs_and_analysis_to_out(tmp_path, monkeypatch):
    run = write_run(tmp_path / "logs", learning(80))
    monkeypatch.chdir(tmp_path)
    result = diagnose(run, out=tmp_path / "report")
    assert (tmp_path / "report" / "analysis.json").is_file() and not (run / "analysis.json").exists()
    assert all(w.path.parent == Path("custom_configs/plateau_solutions") for w in result.remedies)
    assert (tmp_path / "custom_configs" / "plateau_solutions" / "run_plateau_solutions.bat").is_file()
    assert result.findings[0].code == "healthy_plateau"


def test_launchers_train_every_remedy_then_compare(tmp_path):
    run = plateau_run(tmp_path / "logs" / "market1501", name="baseline")
    result = diagnose(run, out_configs=tmp_path / "custom_configs" / "plateau_solutions", workdir=tmp_path)
    sh = result.launchers["sh"].read_text(encoding="utf-8")
    bat = result.launchers["bat"].read_bytes().decode("utf-8")
    for written in result.remedies:
        name = written.remedy.name
        assert f"reidlab train --config-file custom_configs/plateau_solutions/{name}.yml --run-name {name}" in sh
        assert f"  --config-file custom_configs\\plateau_solutions\\{name}.yml ^\r\n  --run-name {name}\r\n" in bat
        assert f"logs/market1501/{name}" in sh.split("reidlab compare")[1]
        assert f"  logs\\market1501\\{name} ^\r\n" in bat or f"  logs\\market1501\\{name}\r\n" in bat
    assert "logs/market1501/baseline" in sh.split("reidlab compare")[1]
    assert "\r\n" in bat and "\n" not in bat.replace("\r\n", "")


@pytest.mark.skipif(os.name == "nt", reason="runs the POSIX launcher")
def test_the_sh_launcher_runs_from_anywhere_with_paths_that_exist(tmp_path):
    """A stand-in `reidlab` on PATH records each call and checks the paths it gets, from the launcher's cd."""
    run = plateau_run(tmp_path / "logs", name="baseline")
    result = diagnose(run, out_configs=tmp_path / "custom_configs" / "plateau_solutions", workdir=tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "reidlab"
    fake.write_text(
        '#!/bin/sh\necho "$@" >> "$CALLS"\n'
        'if [ "$1" = train ]; then test -f "$3" || exit 3; mkdir -p "logs/$5" && echo x > "logs/$5/BEST_MODEL_SELECTION.txt"; fi\n'
        'if [ "$1" = compare ]; then for p in "$@"; do case "$p" in logs/*) test -d "$p" || exit 4;; esac; done; touch logs/BEST_MODEL_SELECTION.txt; fi\n',
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls)}
    done = subprocess.run(["sh", str(result.launchers["sh"])], cwd="/", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = calls.read_text(encoding="utf-8").splitlines()
    assert [line.split()[0] for line in lines] == ["train"] * len(result.remedies) + ["compare"]


def test_a_folder_that_is_not_a_run_is_a_diagnose_error(tmp_path):
    with pytest.raises(DiagnoseError, match="not a run folder"):
        diagnose(tmp_path, out_configs=tmp_path / "c")
    with pytest.raises(DiagnoseError, match="no such run folder"):
        diagnose(tmp_path / "missing", out_configs=tmp_path / "c")


def test_the_diagnose_command(tmp_path, capsys):
    run = plateau_run(tmp_path / "logs")
    parser = argparse.ArgumentParser()
    add_research_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["diagnose", str(run), "--out-configs", str(tmp_path / "c")])
    assert args.handler(args) == 0
    assert "VERDICT: Cross-entropy is at chance level" in capsys.readouterr().out
    assert (tmp_path / "c" / "solution_1_higher_lr.yml").is_file() and (run / "analysis.txt").is_file()


def _schedule_problems(path: Path, num_images: int) -> list:
    cfg = load_config(path)
    return schedule_warnings(cfg.SOLVER.WARMUP_ITERS, num_images // cfg.SOLVER.IMS_PER_BATCH, cfg.SOLVER.MAX_EPOCH, cfg.SOLVER.SCHED, list(cfg.SOLVER.STEPS))


@pytest.mark.parametrize(("num_classes", "num_images", "settings"), [
    (20, 200, {"SOLVER.WARMUP_ITERS": "2000", "SOLVER.STEPS": "[40, 90]"}),  # the real-photo folder: 3 iterations an epoch
    (751, 12936, {}),  # Market-1501 with bag of tricks' schedule
    (751, 12936, {"SOLVER.MAX_EPOCH": "12", "SOLVER.STEPS": "[4, 9]", "SOLVER.WARMUP_ITERS": "200"}),  # a short run
])
def test_every_written_remedy_changes_the_run_and_its_schedule_has_effect(tmp_path, num_classes, num_images, settings):
    run = plateau_run(tmp_path / "logs", num_classes=num_classes, num_images=num_images, settings=settings)
    current = flatten_config(yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")))
    result = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path)
    assert {w.remedy.name for w in result.remedies} >= set(SEED_NAMES)  # each made to fit the run, none left out
    for written in result.remedies:
        changes = changed_keys(written.path)
        assert any(current.get(key) != value for key, value in changes.items()), written.remedy.name
        if any(key in changes for key in SCHEDULE_KEYS):
            assert _schedule_problems(written.path, num_images) == [], written.remedy.name
    assert all(s.reason for s in result.skipped)


def test_a_remedy_whose_steps_never_happen_is_left_out_with_the_reason(tmp_path):
    run = plateau_run(tmp_path / "logs")
    current = flatten_config(yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")))
    late = Remedy("late_drops", {"SOLVER.STEPS": [668, 669]}, tests="t", why="w")
    written, skipped = write_remedies([late], run / "config.yaml", tmp_path / "c", run, current, 751, 12936)
    assert written == [] and not (tmp_path / "c" / "late_drops.yml").exists()
    assert "never happen" in skipped[0].reason and "[668, 669]" in skipped[0].reason


def test_a_remedy_that_changes_nothing_is_left_out_with_the_reason(tmp_path):
    run = plateau_run(tmp_path / "logs", settings={"SOLVER.SCHED": "CosineAnnealingLR"})
    result = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path)
    assert "solution_2_cosine_annealing" not in [w.remedy.name for w in result.remedies]
    reason = next(s.reason for s in result.skipped if s.remedy.name == "solution_2_cosine_annealing")
    assert "SOLVER.SCHED CosineAnnealingLR is already the run's own setting" in reason
