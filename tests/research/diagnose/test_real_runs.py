"""`diagnose` on real tiny training runs made to fail: chance-level CE, divergence, collapsed triplet embeddings."""

from __future__ import annotations

import argparse
import json

import pytest

from reidlab.cli.research_commands import add_research_commands
from reidlab.engine.train import train
from reidlab.research.diagnose import diagnose
from reidlab.research.diagnose.remedies import validate_remedy

CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_learning_rate_of_1e_7_gives_chance_level_cross_entropy(tmp_path, tiny_overrides, capsys):
    """No warmup and LR 1e-7: the weights barely move, CE stays at ln(8); diagnosed through the command."""
    run = tmp_path / "logs" / "lr_1e-7"
    train(CONFIG, overrides=tiny_overrides(run, {"SOLVER.BASE_LR": 1e-7, "SOLVER.WARMUP_ITERS": 0}))
    parser = argparse.ArgumentParser()
    add_research_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["diagnose", str(run), "--out-configs", str(tmp_path / "remedies")])
    assert args.handler(args) == 0
    facts = json.loads((run / "analysis.json").read_text(encoding="utf-8"))
    top = facts["findings"][0]
    assert top["code"] == "ce_at_chance" and top["severity"] == "critical"
    assert top["evidence"]["training_ids"] == 8 and abs(top["evidence"]["mean_ce_last_epochs"] - 2.0794) < 0.1
    assert "SOLVER.BASE_LR 1e-07" in top["cause"] and "fix_learning_rate" in top["remedies"]
    assert "VERDICT: Cross-entropy is at chance level" in capsys.readouterr().out
    for remedy in facts["remedies"]:  # every remedy builds on the real config.yaml and would train
        validate_remedy(tmp_path / "remedies" / f"{remedy['name']}.yml", remedy["name"], 8, 32)
        assert remedy["run_dir"] == (tmp_path / "logs" / remedy["name"]).as_posix()


def test_sgd_with_a_huge_learning_rate_diverges(tmp_path, tiny_overrides):
    run = tmp_path / "sgd_lr_1000"
    extra = {"MODEL.LOSSES.NAME": '["CrossEntropyLoss"]', "SOLVER.OPT": "SGD", "SOLVER.BASE_LR": 1000, "SOLVER.WARMUP_ITERS": 0, "TEST.EVAL_PERIOD": 100}
    result = train(CONFIG, overrides=tiny_overrides(run, extra))
    assert result.stop.reason.value == "diverged"
    top = diagnose(run, out_configs=tmp_path / "remedies").findings[0]
    assert top.code == "divergence" and top.severity.label == "critical"
    assert top.evidence["stop_reason"] == "diverged" and top.evidence["base_lr"] == 1000.0
    assert top.remedies[0].changes["SOLVER.BASE_LR"] < 0.1


def test_a_huge_learning_rate_collapses_the_triplet_embeddings(tmp_path, tiny_overrides):
    """Triplet only, cosine distance, Adam at LR 1: every image maps to one direction, the loss sits at the margin."""
    run = tmp_path / "triplet_lr_1"
    extra = {"MODEL.LOSSES.NAME": '["TripletLoss"]', "MODEL.LOSSES.TRI.NORM_FEAT": True, "SOLVER.BASE_LR": 1.0, "SOLVER.WARMUP_ITERS": 0}
    train(CONFIG, overrides=tiny_overrides(run, extra))
    findings = diagnose(run, out_configs=tmp_path / "remedies").findings
    top = findings[0]
    assert top.code == "triplet_at_margin" and top.severity.label == "critical"
    assert abs(top.evidence["mean_triplet_last_epochs"] - 0.3) < 0.045 and abs(top.evidence["dist_gap"]) < 0.075
    assert top.remedies[0].changes["SOLVER.BASE_LR"] < 0.01
