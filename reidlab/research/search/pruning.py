"""Pruning: report each evaluation's mAP to Optuna, stop a trial its pruner rejects, and say why.

Optuna's pruners answer only yes or no. The reason written into the pruned trial's
STOPPING_REASON.txt is computed here from the study's intermediate values, with the same
comparison the pruner makes:

- median (MedianPruner): the trial's best mAP so far against the median of the completed
  trials' mAP at the same epoch;
- halving (SuccessiveHalvingPruner): the trial's mAP at a rung epoch against the top
  1 / reduction-factor of the trials that reached that epoch.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from reidlab.engine.hooks import HookBase
from reidlab.engine.stop_reasons import StopReason
from reidlab.research.search.errors import SearchError

PRUNERS = ("median", "halving", "none")
HALVING_REDUCTION_FACTOR = 3


def build_pruner(name: str, startup_trials: int = 5, warmup_epochs: int = 0) -> optuna.pruners.BasePruner:
    """median: MedianPruner (after `startup_trials` completed trials, from epoch `warmup_epochs`);
    halving: SuccessiveHalvingPruner (first rung at `warmup_epochs`, or Optuna's estimate when 0);
    none: never prune."""
    if startup_trials < 0 or warmup_epochs < 0:
        raise SearchError("--startup-trials and --warmup-epochs cannot be negative")
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=warmup_epochs or "auto", reduction_factor=HALVING_REDUCTION_FACTOR)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise SearchError(f"--pruner {name}: choose one of {', '.join(PRUNERS)}")


def median_reason(own: dict[int, float], step: int, completed: Sequence[FrozenTrial]) -> str:
    """Why MedianPruner stops a trial whose mAP by epoch is `own`, at epoch `step`."""
    value = own[step]
    finite = {s: v for s, v in own.items() if not math.isnan(v)}
    if not finite:
        return f"mAP is not a number at epoch {step} (nor at any earlier evaluation)"
    best_step = max(finite, key=lambda s: (finite[s], -s))
    peers = [t.intermediate_values[step] for t in completed if step in t.intermediate_values]
    median = float(np.nanpercentile(np.array(peers, dtype=float), 50)) if peers else math.nan
    count = f"{len(peers)} completed trial{'s' if len(peers) != 1 else ''}"
    if best_step == step:
        return f"mAP {value:.4f} at epoch {step} is below the median {median:.4f} of {count} at that epoch"
    return (
        f"mAP {value:.4f} at epoch {step} (best so far {finite[best_step]:.4f} at epoch {best_step}) "
        f"is below the median {median:.4f} of {count} at that epoch"
    )


def halving_reason(own: dict[int, float], step: int, others: Sequence[FrozenTrial], reduction_factor: int = HALVING_REDUCTION_FACTOR) -> str:
    """Why SuccessiveHalvingPruner stops a trial at the rung epoch `step`."""
    value = own[step]
    if math.isnan(value):
        return f"mAP is not a number at epoch {step}, a successive-halving rung"
    values = sorted([t.intermediate_values[step] for t in others if step in t.intermediate_values] + [value], reverse=True)
    keep = max(len(values) // reduction_factor, 1)
    cutoff = values[keep - 1]
    return (
        f"mAP {value:.4f} at epoch {step} is not in the top {keep} of the {len(values)} trials that reached that epoch "
        f"(successive halving keeps 1 in {reduction_factor}; the cut-off is mAP {cutoff:.4f})"
    )


def prune_reason(pruner: str, study: optuna.Study, trial_number: int, own: dict[int, float], step: int) -> str:
    """The comparison behind a prune, in words, from the study's trials as they are now."""
    if pruner == "median":
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return median_reason(own, step, completed)
    if pruner == "halving":
        others = [t for t in study.get_trials(deepcopy=False) if t.number != trial_number]
        return halving_reason(own, step, others)
    return f"the pruner stopped it at epoch {step} (mAP {own[step]:.4f})"


class PruningHook(HookBase):
    """After each evaluation: report mAP as the trial's intermediate value at that epoch; ask to stop the run if pruned."""

    def __init__(self, trial: optuna.Trial, pruner: str, explain: Callable[[str, optuna.Study, int, dict[int, float], int], str] = prune_reason):
        self.trial, self.pruner, self.explain = trial, pruner, explain
        self.reported: dict[int, float] = {}
        self.reason: str | None = None

    def before_train(self) -> None:
        """A resumed run (a retried trial) reports the evaluations it made before, so the pruner sees its whole curve."""
        for record in self.trainer.state.history:
            if isinstance(record.get("mAP"), (int, float)):
                self.reported[record["epoch"]] = float(record["mAP"])
                self.trial.report(float(record["mAP"]), record["epoch"])

    def after_epoch(self, epoch: int, record: dict) -> None:
        if "mAP" not in record:
            return
        value = float(record["mAP"])
        self.reported[epoch] = value
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.reason = self.explain(self.pruner, self.trial.study, self.trial.number, dict(self.reported), epoch)
            self.trainer.request_stop(StopReason.PRUNED, f"Pruned at epoch {epoch}: {self.reason}.")
