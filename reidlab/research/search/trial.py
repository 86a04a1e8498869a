"""One trial: choose its config, train it as an ordinary run, and record how it ended.

A trial trains into ``<study folder>/trial_<n>``, a normal run directory, so `compare`,
`export` and `--resume` work on it unchanged. How the run ended decides the trial's state:
max_epochs, patience_exhausted and time_limit complete it with the best evaluated mAP;
pruned prunes it; out_of_memory, diverged, error, an invalid sampled config
(invalid_config) or an error before training started fail it, with the reason in the trial's
user attributes `stop_reason` and `stop_message`, and the study goes on. Ctrl-C fails it as
`interrupted` and queues its configuration again; that retry, like the retry of a trial whose
worker was lost, resumes in the earlier trial's folder when it holds a run that can go on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import optuna
from optuna.trial import TrialState

from reidlab.config import ConfigError, load_config
from reidlab.engine.stop_reasons import Stop, StopReason
from reidlab.research.runs.resumable import RESUMABLE, folder_state
from reidlab.research.search.constraints import config_problem
from reidlab.research.search.pruning import PruningHook
from reidlab.research.search.queue import CONFIG_FILE, OUTSIDE_SPACE, QUEUED_CONFIG, RESUME_DIR, RUN_DIR, STOP_MESSAGE, STOP_REASON, requeue
from reidlab.research.search.space import SearchSpace, space_overrides

COMPLETING_REASONS = {StopReason.MAX_EPOCHS, StopReason.PATIENCE_EXHAUSTED, StopReason.TIME_LIMIT}
TrainFunction = Callable[..., Any]  # reidlab.engine.train.train, or a stand-in in tests


@dataclass
class TrialContext:
    """What every trial of this search shares."""

    config_file: str
    overrides: Sequence[str]  # the command line's KEY VALUE pairs, without OUTPUT_DIR
    space: SearchSpace
    study_folder: Path
    pruner: str


@dataclass
class TrialPlan:
    config_file: str
    overrides: list[str]
    run_dir: Path
    values: dict[str, Any] = field(default_factory=dict)
    resume: bool = False  # run_dir is an earlier trial's folder, continued from its last_checkpoint.pth


@dataclass
class TrialOutcome:
    state: TrialState
    reason: str  # a stop reason word, or invalid_config / no_evaluation
    message: str
    run_dir: Path
    value: float | None = None
    best_epoch: int | None = None

    @property
    def interrupted(self) -> bool:
        return self.reason == StopReason.INTERRUPTED.value

    def summary(self, number: int) -> str:
        state = {TrialState.COMPLETE: "completed", TrialState.PRUNED: "pruned"}.get(self.state, "failed")
        result = f"mAP {self.value:.4f} at epoch {self.best_epoch}" if self.value is not None else self.reason
        folder = self.run_dir.as_posix() if self.run_dir.exists() else "no run folder: it failed before training started"
        return f"trial {number} {state} ({result}): {self.message} [{folder}]"


def trial_run_dir(study_folder: Path, number: int) -> Path:
    return study_folder / f"trial_{number}"


def plan_trial(trial: optuna.Trial, context: TrialContext) -> TrialPlan:
    """The config file and overrides of this trial: a queued config file as it is, or the base config with sampled values.

    A retry goes on in the folder of the trial it replaces when that run can resume; else it starts in its own.
    """
    earlier = trial.user_attrs.get(RESUME_DIR)
    resume = isinstance(earlier, str) and folder_state(Path(earlier))[0] == RESUMABLE
    run_dir = Path(earlier) if resume else trial_run_dir(context.study_folder, trial.number)
    queued = trial.user_attrs.get(QUEUED_CONFIG)
    if queued:
        outside = trial.user_attrs.get(OUTSIDE_SPACE) or {}
        values = context.space.suggest(trial, [k for k in context.space.keys if k not in outside])  # the file's own values
        overrides = [*context.overrides]
        config_file = queued
    else:
        values = context.space.suggest(trial)
        overrides = [*context.overrides, *space_overrides(values)]
        config_file = context.config_file
    return TrialPlan(config_file, [*overrides, "OUTPUT_DIR", run_dir.as_posix()], run_dir, values, resume)


def run_trial(trial: optuna.Trial, context: TrialContext, train: TrainFunction) -> TrialOutcome:
    """Train the trial's config; never raises for a failed run (KeyboardInterrupt outside training aside)."""
    plan = plan_trial(trial, context)
    trial.set_user_attr(CONFIG_FILE, plan.config_file)
    trial.set_user_attr(RUN_DIR, plan.run_dir.as_posix())
    try:
        problem = config_problem(load_config(plan.config_file, plan.overrides))
    except ConfigError as exc:
        problem = str(exc)
    if problem:
        return TrialOutcome(TrialState.FAIL, "invalid_config", problem, plan.run_dir)
    try:
        result = train(plan.config_file, None, plan.overrides, resume=plan.resume, hooks=[PruningHook(trial, context.pruner)])
    except KeyboardInterrupt:
        return interrupted_outcome(plan.run_dir)
    except Exception as exc:  # a data set or run-folder problem found before training started
        first = (str(exc).strip().splitlines() or [""])[0]
        return TrialOutcome(TrialState.FAIL, StopReason.ERROR.value, f"{type(exc).__name__}: {first[:300]}", plan.run_dir)
    return outcome_of_run(result.stop, result.best, plan.run_dir)


def interrupted_outcome(run_dir: Path) -> TrialOutcome:
    return TrialOutcome(TrialState.FAIL, StopReason.INTERRUPTED.value, "Interrupted (Ctrl-C); its configuration is queued again.", run_dir)


def outcome_of_run(stop: Stop, best: dict | None, run_dir: Path) -> TrialOutcome:
    """A finished run's trial state: its stop reason decides, its best mAP is the value."""
    reason = stop.reason
    if reason in COMPLETING_REASONS:
        mAP = best.get("mAP") if best else None
        if mAP is None or not math.isfinite(mAP):
            return TrialOutcome(TrialState.FAIL, "no_evaluation", f"Ended ({reason.value}) without an evaluated mAP. {stop.message}", run_dir)
        return TrialOutcome(TrialState.COMPLETE, reason.value, stop.message, run_dir, float(mAP), best.get("epoch"))
    if reason is StopReason.PRUNED:
        return TrialOutcome(TrialState.PRUNED, reason.value, stop.message, run_dir)
    return TrialOutcome(TrialState.FAIL, reason.value, stop.message, run_dir)


def record_outcome(study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome) -> None:
    """Write the outcome into the study; an interrupted trial's configuration is queued again."""
    trial.set_user_attr(STOP_REASON, outcome.reason)
    trial.set_user_attr(STOP_MESSAGE, outcome.message)
    if outcome.best_epoch is not None:
        trial.set_user_attr("best_epoch", outcome.best_epoch)
    if outcome.state == TrialState.COMPLETE:
        study.tell(trial, outcome.value)
    else:
        study.tell(trial, state=outcome.state)
    if outcome.interrupted:
        requeue(study, trial)
