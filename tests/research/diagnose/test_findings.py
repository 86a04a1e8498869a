"""Each finding of `diagnose` on a synthetic history: run folders as train writes them, without training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from reidlab.config import config_to_yaml, load_config
from reidlab.modeling.chance import chance_cross_entropy
from reidlab.research.diagnose import Severity, find_findings
from reidlab.research.diagnose.update_causes import KNOWN_CAUSES
from reidlab.research.runs import read_run_evidence
from reidlab.rundir import hyperparameters

# Bag of tricks as the seed's user ran it: CE (label smoothing 0.1) + batch-hard triplet, P x K batches of 16.
BAG_OF_TRICKS = {
    "MODEL.LOSSES.NAME": '["CrossEntropyLoss", "TripletLoss"]',
    "MODEL.LOSSES.CE.EPSILON": "0.1",
    "MODEL.LOSSES.TRI.HARD_MINING": "True",
    "DATALOADER.SAMPLER_TRAIN": "NaiveIdentitySampler",
    "DATALOADER.NUM_INSTANCE": "4",
    "SOLVER.IMS_PER_BATCH": "64",
    "SOLVER.BASE_LR": "0.00035",
    "SOLVER.MAX_EPOCH": "120",
    "SOLVER.STEPS": "[40, 90]",
    "SOLVER.WARMUP_ITERS": "2000",
    "TEST.EVAL_PERIOD": "5",
}


def write_run(parent: Path, history: list[dict], *, settings: dict | None = None, stop: str = "patience_exhausted",
              message: str = "", num_classes: int = 751, num_images: int = 12936, name: str = "run", info: dict | None = None) -> Path:
    """A finished reidlab run folder holding `history`, the resolved config and model_info.json."""
    run = parent / name
    run.mkdir(parents=True)
    values = {**BAG_OF_TRICKS, "OUTPUT_DIR": run.as_posix(), **(settings or {})}  # train records its run folder
    cfg = load_config(None, [item for pair in values.items() for item in pair])
    evaluated = [r for r in history if r.get("mAP") is not None]
    best = max(evaluated, key=lambda r: r["mAP"]) if evaluated else None
    info = {
        "status": "finished",
        "stop": {"reason": stop, "message": message, "epoch": len(history)},
        "num_classes": num_classes,
        "num_train_images": num_images,
        "best": {"epoch": best["epoch"], "mAP": best["mAP"], "rank1": best["mAP"]} if best else None,
        "epochs_run": len(history),
        "hyperparameters": hyperparameters(cfg),
        "test_sets": ["Market1501"],
        **(info or {}),
    }
    (run / "config.yaml").write_text(config_to_yaml(cfg), encoding="utf-8")
    (run / "model_info.json").write_text(json.dumps(info), encoding="utf-8")
    (run / "training_history.json").write_text(json.dumps(history), encoding="utf-8")
    return run


def epochs(count: int, ipe: int = 202, eval_period: int = 5, **series) -> list[dict]:
    """Epoch records; each keyword is a function of the epoch (None leaves the key out); mAP only every eval_period."""
    records = []
    for epoch in range(1, count + 1):
        record = {"epoch": epoch, "iterations": epoch * ipe, "lr": 0.00035}
        for key, value in series.items():
            if key == "mAP" and epoch % eval_period:
                continue
            result = value(epoch)
            if result is not None:
                record[key] = result
        if "loss" not in record:
            record["loss"] = record.get("loss_ce", 0.0) + record.get("loss_triplet", 0.0)
        records.append(record)
    return records


def learning(count: int, **extra) -> list[dict]:
    """A run that learns: CE falls far below chance, triplet below its margin, mAP rises then flattens."""
    series = {
        "loss_ce": lambda e: 1.2 + 5.0 * math.exp(-e / 8),
        "loss_triplet": lambda e: 0.05 + 0.8 * math.exp(-e / 8),
        "mAP": lambda e: 0.80 * (1 - math.exp(-e / 10)),
        "update_ratio_backbone": lambda e: 2e-3,
        "update_ratio_head": lambda e: 5e-3,
        "unchanged_fraction": lambda e: 1e-5,
    }
    return epochs(count, **{**series, **extra})


def codes(run: Path) -> list[str]:
    return [f.code for f in find_findings(read_run_evidence(run))]


def finding(run: Path, code: str):
    return next(f for f in find_findings(read_run_evidence(run)) if f.code == code)


# ---------------------------------------------------------------- CE at chance
def test_the_seeds_plateau_is_chance_level_cross_entropy(tmp_path):
    """CE 6.7 with 751 ids (ln 751 = 6.62), total 9.5: the classifier learns nothing, even with label smoothing."""
    history = epochs(40, loss_ce=lambda e: 6.7, loss_triplet=lambda e: 2.8, mAP=lambda e: 0.03)
    run = write_run(tmp_path, history, settings={"SOLVER.IMS_PER_BATCH": "16"})
    findings = find_findings(read_run_evidence(run))
    top = findings[0]
    assert top.code == "ce_at_chance" and top.severity is Severity.CRITICAL
    assert top.evidence["chance_ce"] == pytest.approx(math.log(751), abs=1e-3) and top.evidence["chance_ce_basis"] == "ln(751)"
    assert top.evidence["mean_ce_last_epochs"] == pytest.approx(6.7) and top.evidence["training_ids"] == 751
    assert top.cause and "relabelling" in top.fix and "warmup" in top.fix
    assert "6.7" in top.title and "6.62" in top.title
    assert "update_ratio_* in training_history.json" in top.fix and "model_XXXX.pth" not in top.fix


def test_chance_level_is_judged_on_ce_without_its_weight(tmp_path):
    history = epochs(20, loss_ce=lambda e: 2 * 6.6, mAP=lambda e: 0.02)
    run = write_run(tmp_path, history, settings={"MODEL.LOSSES.CE.SCALE": "2.0"})
    assert "ce_at_chance" in codes(run)


def test_a_learning_classifier_is_not_at_chance(tmp_path):
    assert "ce_at_chance" not in codes(write_run(tmp_path, learning(40)))


def test_batch_accuracy_above_chance_means_the_classifier_learns(tmp_path):
    """Few identities: CE can sit near ln(C) for a while although accuracy already beats guessing."""
    history = epochs(4, loss_ce=lambda e: 2.03, mAP=lambda e: 0.4, cls_accuracy=lambda e: 0.33, eval_period=1)
    assert "ce_at_chance" not in codes(write_run(tmp_path, history, num_classes=8, num_images=32))


def test_a_tiny_learning_rate_is_named_as_the_cause_and_gets_a_remedy(tmp_path):
    history = epochs(10, loss_ce=lambda e: 6.62, mAP=lambda e: 0.02, update_ratio_backbone=lambda e: 3e-6, update_ratio_head=lambda e: 3e-6)
    run = write_run(tmp_path, history, settings={"SOLVER.BASE_LR": "1e-7"})
    chance = finding(run, "ce_at_chance")
    assert "SOLVER.BASE_LR 1e-07" in chance.cause and "barely move" in chance.cause
    assert [r.name for r in chance.remedies] == ["fix_learning_rate"]
    assert chance.remedies[0].changes["SOLVER.BASE_LR"] == pytest.approx(3.5e-4)


def test_warmup_that_never_ended_is_named_as_the_cause(tmp_path):
    history = epochs(5, ipe=100, loss_ce=lambda e: 6.6, mAP=lambda e: 0.02)
    run = write_run(tmp_path, history, settings={"SOLVER.WARMUP_ITERS": "100000", "SOLVER.IMS_PER_BATCH": "128"})
    chance = finding(run, "ce_at_chance")
    assert "had not ended" in chance.cause and "fix_warmup" in [r.name for r in chance.remedies]


# SBS's classifier: CircleSoftmax, SCALE 64, MARGIN 0.35, with label smoothing 0.1 and the soft-margin triplet.
SBS_LIKE = {"MODEL.HEADS.CLS_LAYER": "CircleSoftmax", "MODEL.HEADS.SCALE": "64", "MODEL.HEADS.MARGIN": "0.35", "MODEL.LOSSES.TRI.MARGIN": "0.0"}
SBS_CHANCE = chance_cross_entropy("CircleSoftmax", 751, 64, 0.35, 0.1)  # 50.1, not ln(751) = 6.62


def test_a_cosine_classifier_stuck_at_its_own_chance_value_is_ce_at_chance(tmp_path):
    history = epochs(20, loss_ce=lambda e: SBS_CHANCE + 0.2, loss_triplet=lambda e: 0.69, mAP=lambda e: 0.02, cls_accuracy=lambda e: 0.001)
    found = finding(write_run(tmp_path, history, settings=SBS_LIKE), "ce_at_chance")
    assert found.evidence["chance_ce"] == pytest.approx(SBS_CHANCE, abs=1e-3) and found.evidence["ln_ids"] == pytest.approx(math.log(751), abs=1e-3)
    assert found.evidence["chance_ce_basis"] == "CircleSoftmax CE at cosine 0 (SCALE 64, MARGIN 0.35, CE.EPSILON 0.1, 751 classes)"
    assert f"against {SBS_CHANCE:.3f}, the CircleSoftmax CE at cosine 0" in found.title and "not ln(751) = 6.621" in found.title
    assert "already includes CE.EPSILON" in found.fix


def test_with_a_cosine_classifier_ln_ids_is_not_chance(tmp_path):
    history = epochs(20, loss_ce=lambda e: math.log(751), mAP=lambda e: 0.3)
    assert "ce_at_chance" not in codes(write_run(tmp_path, history, settings=SBS_LIKE))


def test_a_healthy_sbs_like_curve_is_neither_chance_nor_divergence(tmp_path):
    """CE starts near its cosine chance (~50) and falls to ~5; the soft-margin triplet falls from ~ln 2."""
    history = learning(
        40,
        loss_ce=lambda e: 5.0 + 45.0 * math.exp(-(e - 1) / 4),
        loss_triplet=lambda e: 0.05 + 0.65 * math.exp(-(e - 1) / 4),
        cls_accuracy=lambda e: 1 - math.exp(-e / 4),
        dist_ap=lambda e: 0.4,
        dist_an=lambda e: 1.2,
    )
    found = codes(write_run(tmp_path, history, settings=SBS_LIKE))
    assert not {"ce_at_chance", "divergence", "triplet_at_margin", "weights_not_updating"} & set(found), found


# ---------------------------------------------------------------- triplet at margin
def test_triplet_stuck_at_its_margin_means_collapsed_embeddings(tmp_path):
    history = learning(20, loss_triplet=lambda e: 0.301, dist_ap=lambda e: 0.010, dist_an=lambda e: 0.009, triplet_active_fraction=lambda e: 1.0)
    found = finding(write_run(tmp_path, history), "triplet_at_margin")
    assert found.severity is Severity.CRITICAL and "collapsed" in found.cause
    assert found.evidence["margin"] == 0.3 and found.evidence["mean_triplet_last_epochs"] == pytest.approx(0.301)
    assert found.evidence["dist_gap"] == pytest.approx(-0.001)


def test_triplet_near_the_margin_with_separated_distances_is_not_collapse(tmp_path):
    history = learning(20, loss_triplet=lambda e: 0.3, dist_ap=lambda e: 0.5, dist_an=lambda e: 1.4)
    assert "triplet_at_margin" not in codes(write_run(tmp_path, history))


def test_a_soft_margin_triplet_stuck_at_ln_2_is_collapse(tmp_path):
    """MARGIN 0 is softplus(d_ap - d_an): with d_ap = d_an it sits at ln 2, not at the margin 0."""
    history = learning(20, loss_triplet=lambda e: 0.70, dist_ap=lambda e: 0.010, dist_an=lambda e: 0.009)
    found = finding(write_run(tmp_path, history, settings={"MODEL.LOSSES.TRI.MARGIN": "0.0"}), "triplet_at_margin")
    assert found.evidence["margin"] == 0.0 and found.evidence["stuck_value"] == pytest.approx(math.log(2), abs=1e-4)
    assert "stuck at ln 2" in found.title and "softplus(0) = ln 2" in found.cause


def test_a_soft_margin_triplet_that_learns_is_not_collapse(tmp_path):
    for name, loss, dist_an in (("low", 0.05, 1.4), ("separated", 0.69, 1.4)):
        history = learning(20, loss_triplet=lambda e, v=loss: v, dist_ap=lambda e: 0.5, dist_an=lambda e, d=dist_an: d)
        assert "triplet_at_margin" not in codes(write_run(tmp_path, history, settings={"MODEL.LOSSES.TRI.MARGIN": "0.0"}, name=name))


# ---------------------------------------------------------------- divergence
def test_a_diverged_stop_without_any_epoch_is_divergence(tmp_path):
    run = write_run(tmp_path, [], stop="diverged", message="Loss became nan at epoch 1, iteration 3", settings={"SOLVER.OPT": "SGD", "SOLVER.BASE_LR": "10"})
    findings = find_findings(read_run_evidence(run))
    assert findings[0].code == "divergence" and findings[0].severity is Severity.CRITICAL
    assert findings[0].evidence["base_lr"] == 10.0 and "too high" in findings[0].cause
    assert findings[0].remedies[0].changes["SOLVER.BASE_LR"] < 1.0


def test_non_finite_features_at_evaluation_are_divergence_too(tmp_path):
    run = write_run(tmp_path, [], stop="diverged", message="Evaluation after epoch 1: 3 of 10 Market1501 embeddings are NaN or inf.")
    assert codes(run)[0] == "divergence"


def test_a_loss_that_blows_up_while_finite_is_divergence(tmp_path):
    history = epochs(3, loss_ce=lambda e: 10.0 ** (3 * e))
    assert finding(write_run(tmp_path, history, stop="max_epochs"), "divergence").evidence["growth"] >= 10


def test_a_loss_spike_is_a_warning(tmp_path):
    history = learning(20, loss_ce=lambda e: 9.0 if e == 12 else 2.0)
    spike = finding(write_run(tmp_path, history), "divergence")
    assert spike.severity is Severity.WARNING and spike.evidence["spike_epochs"] == [12]


# ---------------------------------------------------------------- overfitting, still improving, healthy
def test_overfitting_when_mAP_falls_while_the_loss_keeps_falling(tmp_path):
    history = learning(60, mAP=lambda e: 0.7 - 0.004 * abs(e - 20), loss_ce=lambda e: 3.0 - 0.03 * e)
    found = finding(write_run(tmp_path, history, stop="max_epochs", settings={"SOLVER.MAX_EPOCH": "60", "SOLVER.STEPS": "[20, 45]"}), "overfitting")
    assert found.evidence["best_epoch"] == 20 and found.evidence["last_mAP"] < found.evidence["best_mAP"] - 0.1
    assert found.remedies[0].name == "fix_overfitting"


def test_a_noisy_flat_mAP_is_not_overfitting(tmp_path):
    history = learning(60, mAP=lambda e: 0.7 + (0.003 if e % 10 else 0.0), loss_ce=lambda e: 1.5)
    assert "overfitting" not in codes(write_run(tmp_path, history, settings={"SOLVER.MAX_EPOCH": "60", "SOLVER.STEPS": "[20, 45]"}))


def test_still_improving_when_max_epoch_ends_the_run(tmp_path):
    history = learning(30, mAP=lambda e: 0.02 * e)
    found = finding(write_run(tmp_path, history, stop="max_epochs", settings={"SOLVER.MAX_EPOCH": "30", "SOLVER.STEPS": "[12, 25]"}), "still_improving")
    assert found.severity is Severity.WARNING and found.evidence["last_mAP"] == pytest.approx(0.6)
    assert found.remedies[0].changes["SOLVER.MAX_EPOCH"] == 60


def test_patience_that_fires_before_the_first_lr_drop_while_loss_falls(tmp_path):
    history = learning(25, mAP=lambda e: 0.5, loss_ce=lambda e: 4.0 - 0.1 * e)
    found = finding(write_run(tmp_path, history, settings={"SOLVER.EARLY_STOP.PATIENCE": "2"}), "still_improving")
    assert found.evidence["patience_evaluations"] == 2 and "patience" in found.fix.lower()


def test_a_healthy_plateau_says_so_and_invents_no_problem(tmp_path):
    history = learning(80)
    findings = find_findings(read_run_evidence(write_run(tmp_path, history)))
    assert [f.code for f in findings] == ["healthy_plateau"]
    assert findings[0].severity is Severity.OK and findings[0].evidence["best_mAP"] > 0.7


# ---------------------------------------------------------------- schedule
def test_warmup_longer_than_a_large_part_of_training(tmp_path):
    found = finding(write_run(tmp_path, learning(80), settings={"SOLVER.WARMUP_ITERS": "12000"}), "warmup_too_long")
    assert found.evidence["warmup_fraction"] == pytest.approx(12000 / (202 * 120), abs=1e-3)
    assert found.remedies[0].changes["SOLVER.WARMUP_ITERS"] == round(0.05 * 202 * 120)


def test_lr_steps_beyond_max_epoch(tmp_path):
    found = finding(write_run(tmp_path, learning(40), settings={"SOLVER.MAX_EPOCH": "40", "SOLVER.STEPS": "[40, 90]"}), "steps_beyond_max_epoch")
    assert found.evidence["steps_never_reached"] == [40, 90] and "never decays" in found.title
    assert all(step < 40 for step in found.remedies[0].changes["SOLVER.STEPS"])


def test_lr_steps_before_warmup_ends(tmp_path):
    found = finding(write_run(tmp_path, learning(80), settings={"SOLVER.STEPS": "[5, 90]", "SOLVER.WARMUP_ITERS": "2020"}), "steps_before_warmup_ends")
    assert found.evidence["warmup_end_epoch"] == pytest.approx(10.0)
    assert "e.g. [40, 90]" in found.fix  # the steps to move to differ from the current [5, 90]


def test_steps_before_a_too_long_warmup_are_not_told_to_move_where_they_are(tmp_path):
    # the folder: 200 images, batch 64, 3 iterations an epoch; [40, 90] already fit a 5 % warm-up
    run = write_run(tmp_path, learning(120), settings={"SOLVER.WARMUP_ITERS": "2000", "SOLVER.STEPS": "[40, 90]"}, num_classes=20, num_images=200)
    fix = finding(run, "steps_before_warmup_ends").fix
    assert "e.g. [40, 90]" not in fix and "Shorten SOLVER.WARMUP_ITERS to about 18" in fix


def test_cosine_decay_over_too_few_epochs(tmp_path):
    settings = {"SOLVER.SCHED": "CosineAnnealingLR", "SOLVER.MAX_EPOCH": "12", "SOLVER.DELAY_EPOCHS": "6"}
    assert finding(write_run(tmp_path, learning(12), settings=settings), "short_cosine").evidence["cosine_epochs"] == 6


# ---------------------------------------------------------------- batch
@pytest.mark.parametrize("batch, instances, problem", [(16, 1, "no positive pairs"), (8, 4, "only 2 identities")])
def test_batch_too_small_for_the_pk_sampler(tmp_path, batch, instances, problem):
    settings = {"SOLVER.IMS_PER_BATCH": str(batch), "DATALOADER.NUM_INSTANCE": str(instances)}
    found = finding(write_run(tmp_path, learning(80), settings=settings), "small_pk_batch")
    assert problem in found.title
    fix = found.remedies[0].changes
    k = fix.get("DATALOADER.NUM_INSTANCE", instances)
    assert k >= 2 and fix.get("SOLVER.IMS_PER_BATCH", batch) // k >= 4


def test_lr_not_scaled_with_the_batch(tmp_path):
    found = finding(write_run(tmp_path, learning(80), settings={"SOLVER.IMS_PER_BATCH": "512", "SOLVER.BASE_LR": "0.00001"}), "lr_not_scaled")
    assert found.evidence["reference_lr"] == pytest.approx(3.5e-4 * math.sqrt(512 / 64), rel=1e-3)
    assert found.severity is Severity.WARNING


# ---------------------------------------------------------------- training health, order, fast-reid
def standstill(**series) -> list[dict]:
    """Ten epochs at chance with weights that never move; `series` adds or replaces per-epoch values."""
    flat = {"loss_ce": lambda e: 6.62, "loss_triplet": lambda e: 1.2, "mAP": lambda e: 0.02, "update_ratio_backbone": lambda e: 0.0,
            "update_ratio_head": lambda e: 0.0, "unchanged_fraction": lambda e: 1.0, "grad_norm": lambda e: 3.0}
    return epochs(10, **{**flat, **series})


def test_weights_not_updating_is_the_top_finding(tmp_path):
    findings = find_findings(read_run_evidence(write_run(tmp_path, standstill())))
    assert findings[0].code == "weights_not_updating" and "ce_at_chance" in [f.code for f in findings]
    assert findings[0].evidence["cause"] == "optimizer_tensors"
    assert "optimiser step does not apply them" in findings[0].cause and "grad_norm 3" in findings[0].cause


def test_the_weights_finding_names_all_four_known_causes(tmp_path):
    cause = finding(write_run(tmp_path, standstill()), "weights_not_updating").cause
    assert all(known.what in cause for known in KNOWN_CAUSES)
    assert "Ruled out:" in cause and "SOLVER.AMP.ENABLED is False" in cause and "gradients reach the weights" in cause


def test_an_lr_of_zero_is_named_with_its_remedy(tmp_path):
    run = write_run(tmp_path, standstill(lr=lambda e: 0.0), settings={"SOLVER.BASE_LR": "0"})
    found = finding(run, "weights_not_updating")
    assert found.evidence["cause"] == "zero_lr" and "SOLVER.BASE_LR is 0" in found.cause
    assert "SOLVER.BASE_LR" in found.fix and [r.name for r in found.remedies] == ["fix_learning_rate"]


def test_no_gradient_at_all_means_every_layer_frozen(tmp_path):
    found = finding(write_run(tmp_path, standstill(grad_norm=lambda e: 0.0)), "weights_not_updating")
    assert found.evidence["cause"] == "all_frozen" and "no gradient reaches any weight" in found.cause
    assert "requires_grad True" in found.fix


def test_an_amp_scaler_skipping_every_step_is_named(tmp_path):
    history = standstill(grad_norm=lambda e: float("inf"))  # train writes a non-finite grad_norm as null
    (tmp_path / "h.json").write_text(json.dumps(history).replace("Infinity", "null"), encoding="utf-8")
    history = json.loads((tmp_path / "h.json").read_text(encoding="utf-8"))
    run = write_run(tmp_path, history, settings={"SOLVER.AMP.ENABLED": "True"}, info={"amp": "float16 autocast with GradScaler"})
    found = finding(run, "weights_not_updating")
    assert found.evidence["cause"] == "amp_skips" and "grad_norm was not finite in each of the last 3 epochs" in found.cause
    assert "SOLVER.AMP.ENABLED False" in found.fix


def test_the_recorded_fraction_of_inf_nan_gradient_steps_decides_the_amp_cause(tmp_path):
    amp = {"settings": {"SOLVER.AMP.ENABLED": "True"}, "info": {"amp": "float16 autocast with GradScaler"}}
    skipping = write_run(tmp_path / "skipping", standstill(nonfinite_grad_fraction=lambda e: 1.0), **amp)
    found = finding(skipping, "weights_not_updating")
    assert found.evidence["cause"] == "amp_skips" and "100% or more of the steps of each of the last 3 epochs" in found.cause
    stepping = write_run(tmp_path / "stepping", standstill(nonfinite_grad_fraction=lambda e: 0.02), **amp)
    assert "at most 2% of the recent steps had inf/NaN gradients" in finding(stepping, "weights_not_updating").cause


def test_amp_without_a_grad_scaler_cannot_skip_steps(tmp_path):
    run = write_run(tmp_path, standstill(), settings={"SOLVER.AMP.ENABLED": "True"}, info={"amp": "bfloat16 autocast"})
    found = finding(run, "weights_not_updating")
    assert found.evidence["cause"] == "optimizer_tensors" and "AMP ran as bfloat16 autocast, without a scaler" in found.cause


def test_a_frozen_backbone_is_a_warning(tmp_path):
    history = learning(80, update_ratio_backbone=lambda e: 0.0)
    assert finding(write_run(tmp_path, history), "frozen_backbone").severity is Severity.WARNING


def test_findings_are_listed_most_severe_first(tmp_path):
    history = epochs(40, loss_ce=lambda e: 6.7, loss_triplet=lambda e: 2.8, mAP=lambda e: 0.03)
    run = write_run(tmp_path, history, settings={"SOLVER.MAX_EPOCH": "40", "SOLVER.WARMUP_ITERS": "5000"})
    severities = [f.severity for f in find_findings(read_run_evidence(run))]
    assert severities == sorted(severities, reverse=True) and len(severities) >= 3


def test_a_fastreid_run_with_the_seeds_plateau(tmp_path):
    """fast-reid's metrics.json (iterations, loss_cls) averaged into epochs; ids from MODEL.HEADS.NUM_CLASSES."""
    run = tmp_path / "fastreid"
    run.mkdir()
    lines = []
    for epoch in range(1, 11):
        for step in range(19, 200, 20):
            lines.append({"iteration": (epoch - 1) * 200 + step, "total_loss": 9.5, "loss_cls": 6.7, "loss_triplet": 2.8, "lr": 0.00035})
        if epoch % 5 == 0:
            lines.append({"iteration": epoch * 200 - 1, "mAP": 3.0, "Rank-1": 8.0})
    (run / "metrics.json").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    (run / "config.yaml").write_text(
        "MODEL:\n  HEADS:\n    NUM_CLASSES: 751\n  LOSSES:\n    NAME: ('CrossEntropyLoss', 'TripletLoss')\n    CE:\n      EPSILON: 0.1\n"
        "SOLVER:\n  IMS_PER_BATCH: 64\n  MAX_EPOCH: 60\n  STEPS: [40, 90]\nTEST:\n  EVAL_PERIOD: 5\n", encoding="utf-8")
    evidence = read_run_evidence(run)
    assert evidence.source == "fast-reid" and [r["epoch"] for r in evidence.history] == list(range(1, 11))
    assert evidence.history[4]["mAP"] == pytest.approx(0.03)
    found = find_findings(evidence)  # no log.txt: the versions, so which cause, are unknown
    assert found[0].code == "weights_not_updating" and found[0].evidence["cause"] == "unknown"
    assert "ce_at_chance" in [f.code for f in found]
