"""STOPPING_REASON.txt's chance-level lines: ln(#ids) for a Linear classifier, the cosine layer's own value otherwise."""

from __future__ import annotations

import math
from pathlib import Path

from reidlab.config import load_config
from reidlab.engine.stop_reasons import Stop, StopReason
from reidlab.engine.stop_report import stopping_reason_text
from reidlab.modeling.chance import chance_cross_entropy

SBS_LIKE = ["MODEL.HEADS.CLS_LAYER", "CircleSoftmax", "MODEL.HEADS.SCALE", "64", "MODEL.HEADS.MARGIN", "0.35", "MODEL.LOSSES.CE.EPSILON", "0.1"]


def _text(overrides: list[str], ce: float, epochs: int = 5) -> str:
    cfg = load_config(None, overrides)
    history = [{"epoch": e, "loss": ce + 0.7, "loss_ce": ce, "loss_triplet": 0.7} for e in range(1, epochs + 1)]
    info = {"num_classes": 751, "best": None, "hyperparameters": {}}
    stop = Stop(StopReason.MAX_EPOCHS, "done", epochs)
    return stopping_reason_text(stop, cfg, info, history, Path("run"), "reidlab train --resume")


def test_a_linear_run_at_ln_ids_is_told_it_sits_at_chance():
    text = _text([], 6.62)
    assert f"(cross-entropy at chance level would be ln(751) = {math.log(751):.3f})" in text
    assert "Cross-entropy 6.620 is at chance level (ln(751) = 6.621)" in text


def test_a_cosine_classifier_run_names_its_own_chance_value():
    chance = chance_cross_entropy("CircleSoftmax", 751, 64, 0.35, 0.1)
    text = _text(SBS_LIKE, chance + 0.5)
    assert f"cross-entropy at chance level would be {chance:.3f}, the CircleSoftmax CE at cosine 0 (SCALE 64, MARGIN 0.35, CE.EPSILON 0.1, 751 classes)" in text
    assert f"Cross-entropy {chance + 0.5:.3f} is at chance level ({chance:.3f}, the CircleSoftmax" in text


def test_a_cosine_classifier_at_ln_ids_has_learned_and_gets_no_chance_advice():
    assert "is at chance level" not in _text(SBS_LIKE, math.log(751))


def test_chance_is_judged_on_the_cross_entropy_without_its_weight():
    text = _text(["MODEL.LOSSES.CE.SCALE", "2.0"], 2 * 6.62)
    assert "Cross-entropy 6.620 is at chance level" in text and "loss_ce is the cross-entropy x MODEL.LOSSES.CE.SCALE 2" in text


def _rising(reason: StopReason) -> str:
    cfg = load_config(None, ["SOLVER.MAX_EPOCH", "4"])
    history = [{"epoch": e, "loss": 3.0, "loss_ce": 2.0, "loss_triplet": 1.0, "mAP": 0.1 * e} for e in range(1, 5)]
    info = {"num_classes": 751, "best": {"epoch": 4, "mAP": 0.4, "rank1": 0.5, "rank5": 0.6, "rank10": 0.7, "mINP": 0.2}, "hyperparameters": {}}
    return stopping_reason_text(Stop(reason, "done", 4), cfg, info, history, Path("run"), "reidlab train --resume")


def test_rising_map_advice_names_patience_only_when_patience_ended_the_run():
    assert "raise SOLVER.MAX_EPOCH (now 4)." in _rising(StopReason.MAX_EPOCHS)
    assert "raise SOLVER.MAX_EPOCH (now 4) or SOLVER.EARLY_STOP.PATIENCE (now 10)." in _rising(StopReason.PATIENCE_EXHAUSTED)


def _evaluated(evaluations: list[tuple[int, float]], extra_info: dict | None = None, overrides: list[str] | None = None) -> str:
    cfg = load_config(None, ["SOLVER.MAX_EPOCH", "10", *(overrides or [])])
    maps = dict(evaluations)
    history = [{"epoch": e, "loss": 3.0, "loss_ce": 2.0, "loss_triplet": 1.0, **({"mAP": maps[e]} if e in maps else {})} for e in range(1, 11)]
    best_epoch = max(maps, key=maps.get)
    info = {"num_classes": 751, "best": {"epoch": best_epoch, "mAP": maps[best_epoch], "rank1": 0.5, "rank5": 0.6, "rank10": 0.7, "mINP": 0.2},
            "hyperparameters": {}, **(extra_info or {})}
    return stopping_reason_text(Stop(StopReason.MAX_EPOCHS, "done", 10), cfg, info, history, Path("run"), "reidlab train --resume")


def test_peaked_advice_needs_a_curve():
    assert "use best_model.pth, not model_final.pth" in _evaluated([(5, 0.4), (10, 0.3)])
    one = _evaluated([(10, 0.3)])  # one evaluation: best_model.pth and model_final.pth hold the same weights
    assert "peaked" not in one and "use best_model.pth, not model_final.pth" not in one and "Only one evaluation ran (epoch 10)" in one


def test_chance_level_means_at_chance_not_nine_percent_below_it():
    chance = math.log(20)  # 2.996

    def text(ce):
        cfg = load_config(None, ["MODEL.HEADS.NUM_CLASSES", "20"])
        history = [{"epoch": e, "loss": ce + 0.7, "loss_ce": ce, "loss_triplet": 0.7} for e in range(1, 6)]
        return stopping_reason_text(Stop(StopReason.MAX_EPOCHS, "done", 5), cfg, {"num_classes": 20, "best": None, "hyperparameters": {}}, history, Path("run"), "r")
    assert "is at chance level" not in text(2.729)  # 9 % below ln(20): the classifier has learned something
    assert f"Cross-entropy {chance - 0.01:.3f} is at chance level" in text(chance - 0.01)


def test_stopping_reason_names_a_warmup_that_covered_most_of_the_run():
    long_warmup = _evaluated([(5, 0.04), (10, 0.05)], {"iterations": 30, "epochs_run": 10}, ["SOLVER.WARMUP_ITERS", "2000"])
    assert "Warm-up covered most of the run: SOLVER.WARMUP_ITERS 2000 is 666.7 epochs at 3 iterations an epoch" in long_warmup
    assert "set SOLVER.WARMUP_ITERS 2 (5% of training)" in long_warmup
    fitting = _evaluated([(5, 0.04), (10, 0.05)], {"iterations": 3000, "epochs_run": 10}, ["SOLVER.WARMUP_ITERS", "200"])
    assert "Warm-up covered" not in fitting
