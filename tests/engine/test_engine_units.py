"""Engine building blocks: early stopping and the LR schedule."""


import pytest

from reidlab.config import load_config
from reidlab.engine.hooks import EarlyStopping
from reidlab.engine.lr_schedule import lr_factor


def test_early_stopping_counts_evaluations_and_min_delta():
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    assert stopper.update(0.50, 1)
    assert not stopper.update(0.505, 2)  # below min_delta: not an improvement
    assert not stopper.should_stop
    assert not stopper.update(0.40, 3)
    assert stopper.should_stop
    assert (stopper.best, stopper.best_epoch) == (0.50, 1)
    restored = EarlyStopping(patience=2)
    restored.load_state_dict(stopper.state_dict())
    assert restored == stopper


def test_disabled_early_stopping_never_stops():
    stopper = EarlyStopping(patience=1, enabled=False)
    stopper.update(0.5, 1)
    stopper.update(0.1, 2)
    assert not stopper.should_stop


def test_lr_warmup_then_multistep():
    cfg = load_config(None, ["SOLVER.WARMUP_ITERS", "10", "SOLVER.WARMUP_FACTOR", "0.1", "SOLVER.STEPS", "[2, 4]", "SOLVER.GAMMA", "0.1"])
    assert lr_factor(cfg, 0, 100) == pytest.approx(0.1)
    assert lr_factor(cfg, 5, 100) == pytest.approx(0.55)
    assert lr_factor(cfg, 10, 100) == pytest.approx(1.0)
    assert lr_factor(cfg, 199, 100) == pytest.approx(1.0)  # epoch 1
    assert lr_factor(cfg, 200, 100) == pytest.approx(0.1)  # epoch 2: first milestone
    assert lr_factor(cfg, 400, 100) == pytest.approx(0.01)


def test_lr_cosine_reaches_eta_min():
    cfg = load_config(None, ["SOLVER.SCHED", "CosineAnnealingLR", "SOLVER.WARMUP_ITERS", "0", "SOLVER.MAX_EPOCH", "10", "SOLVER.BASE_LR", "0.1", "SOLVER.ETA_MIN_LR", "0.001", "SOLVER.DELAY_EPOCHS", "2"])
    assert lr_factor(cfg, 0, 1) == pytest.approx(1.0)
    assert lr_factor(cfg, 2, 1) == pytest.approx(1.0)
    assert lr_factor(cfg, 6, 1) == pytest.approx(0.01 + 0.99 * 0.5)
    assert lr_factor(cfg, 10, 1) == pytest.approx(0.01)


