"""Pruning: the reason text matches the comparison Optuna's pruner makes, and the hook stops a run with it."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from reidlab.engine.stop_reasons import StopReason
from reidlab.research.search import SearchError
from reidlab.research.search.pruning import PruningHook, build_pruner, halving_reason, median_reason


def finished(values: dict[int, float], state: TrialState = TrialState.COMPLETE) -> optuna.trial.FrozenTrial:
    final = max(values.values()) if state == TrialState.COMPLETE else None
    return create_trial(state=state, value=final, intermediate_values=values)


def test_median_reason_states_value_epoch_median_and_count() -> None:
    completed = [finished({2: 0.2, 4: 0.25}), finished({2: 0.3, 4: 0.30}), finished({2: 0.4, 4: 0.35})]
    text = median_reason({2: 0.1, 4: 0.21}, 4, completed)
    assert text == "mAP 0.2100 at epoch 4 is below the median 0.3000 of 3 completed trials at that epoch"


def test_median_reason_mentions_the_best_so_far_when_it_is_not_the_latest() -> None:
    text = median_reason({2: 0.28, 4: 0.21}, 4, [finished({4: 0.3})])
    assert text == "mAP 0.2100 at epoch 4 (best so far 0.2800 at epoch 2) is below the median 0.3000 of 1 completed trial at that epoch"


def test_median_reason_for_a_nan_map() -> None:
    assert "not a number" in median_reason({1: float("nan")}, 1, [finished({1: 0.3})])


def test_halving_reason_names_the_cut_off() -> None:
    others = [finished({3: v}) for v in (0.5, 0.4, 0.3, 0.35, 0.45)] + [finished({3: 0.6}, TrialState.PRUNED)]
    text = halving_reason({3: 0.2}, 3, others, reduction_factor=3)
    assert text == (
        "mAP 0.2000 at epoch 3 is not in the top 2 of the 7 trials that reached that epoch "
        "(successive halving keeps 1 in 3; the cut-off is mAP 0.5000)"
    )


class StopRequests:
    """What the hook sees of the Trainer: request_stop."""

    def __init__(self) -> None:
        self.requests: dict = {}

    def request_stop(self, reason, message) -> None:
        self.requests[reason] = message


def test_median_reason_agrees_with_optunas_median_pruner() -> None:
    study = optuna.create_study(direction="maximize", pruner=build_pruner("median", startup_trials=1))
    for values in ({1: 0.3, 2: 0.4}, {1: 0.5, 2: 0.6}, {1: 0.2, 2: 0.1}):
        study.add_trial(finished(values))
    trial = study.ask()
    hook = PruningHook(trial, "median")
    hook.trainer = StopRequests()
    hook.after_epoch(1, {"epoch": 1, "loss": 1.0})  # not evaluated: nothing reported
    assert trial.study.get_trials()[-1].intermediate_values == {}
    hook.after_epoch(1, {"epoch": 1, "mAP": 0.31})  # above the median 0.3: goes on
    assert hook.trainer.requests == {}
    hook.after_epoch(2, {"epoch": 2, "mAP": 0.35})  # best 0.35 below the median 0.4
    assert hook.trainer.requests == {
        StopReason.PRUNED: "Pruned at epoch 2: mAP 0.3500 at epoch 2 is below the median 0.4000 of 3 completed trials at that epoch."
    }


def test_build_pruner_choices() -> None:
    assert isinstance(build_pruner("median"), optuna.pruners.MedianPruner)
    assert isinstance(build_pruner("halving", warmup_epochs=2), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(build_pruner("none"), optuna.pruners.NopPruner)
    with pytest.raises(SearchError, match="--pruner best"):
        build_pruner("best")


def test_a_resumed_run_reports_its_earlier_evaluations_so_the_pruner_sees_the_whole_curve() -> None:
    from types import SimpleNamespace

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    hook = PruningHook(trial, "none")
    history = [{"epoch": 1, "loss": 3.0}, {"epoch": 2, "loss": 2.5, "mAP": 0.2}, {"epoch": 3, "loss": 2.4}, {"epoch": 4, "loss": 2.2, "mAP": 0.3}]
    hook.trainer = SimpleNamespace(state=SimpleNamespace(history=history))
    hook.before_train()
    assert study.trials[0].intermediate_values == {2: 0.2, 4: 0.3} and hook.reported == {2: 0.2, 4: 0.3}
