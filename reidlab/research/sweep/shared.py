"""A sweep shared by any number of workers through Optuna's storage (PostgreSQL across machines).

Every worker runs the same `reidlab sweep CONFIGS --storage URL --study NAME`. Each config is one
trial, enqueued once; Optuna hands each waiting trial to exactly one worker (its storage pops it
atomically), so the distribution is Optuna's, not ours. Halving becomes asynchronous successive
halving: each run reports its mAP at every evaluation and Optuna's SuccessiveHalvingPruner stops it
at a rung epoch when it is not in the top 1/eta of the runs that reached that rung.

A worker that dies stops its heartbeat; the next worker to look fails that trial (worker_lost) and
queues its config again, and the retry resumes from the run's last_checkpoint.pth when the run
folder is on a shared disk. The worker that finds nothing left to run, and no run still going,
compares the runs and prints the winner.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import optuna
from optuna.trial import TrialState

from reidlab.engine.stop_reasons import StopReason
from reidlab.research.runs.resumable import DONE, RESUMABLE, STUCK, folder_state
from reidlab.research.search.heartbeat import Heartbeat
from reidlab.research.search.pruning import PruningHook
from reidlab.research.search.queue import STOP_MESSAGE, STOP_REASON, fail_lost_trials, requeue
from reidlab.research.search.storage import open_storage
from reidlab.research.sweep.plan import SweepError
from reidlab.research.sweep.runs import Launcher
from reidlab.research.sweep.state import SweepRun

CONFIG_PARAM = "config"
WORKER_ATTR = "worker"
BEST_MAP_ATTR = "best_mAP"


@dataclass
class SharedSettings:
    storage: str
    study: str
    heartbeat_s: float = 60.0
    lost_after_s: float = 600.0


def open_sweep_study(settings: SharedSettings, folder: Path, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(settings.storage, folder).storage
    return optuna.create_study(storage=storage, study_name=settings.study, direction="maximize", pruner=pruner or optuna.pruners.NopPruner(), load_if_exists=True)


def run_shared(
    planned: list[SweepRun], overrides: list[str], rungs: list[int] | None, eta: int, settings: SharedSettings, folder: Path, launcher: Launcher, say: Callable[[str], None]
) -> tuple[optuna.Study, bool]:
    """Train waiting configs until none is left; (the study, whether every run has ended)."""
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=rungs[0], reduction_factor=eta) if rungs else None
    study = open_sweep_study(settings, folder, pruner)
    runs = {r.name: r for r in planned if r.run_dir}
    recorded = study.user_attrs.get("configs")
    if recorded is not None and sorted(recorded) != sorted(runs):
        raise SweepError(f"study {settings.study} holds another sweep (configs {sorted(recorded)}); give the same configs, or another --study")
    _seed(study, sorted(runs))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        for number in fail_lost_trials(study, settings.lost_after_s):
            say(f"[sweep] trial {number}: its worker stopped sending heartbeats; its config is queued again")
        if not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            break
        trial = study.ask()
        name = trial.suggest_categorical(CONFIG_PARAM, sorted(runs))
        if _held_elsewhere(study, trial.number, name):  # another worker popped the same config (seeding race)
            trial.set_user_attr(STOP_REASON, "duplicate")
            study.tell(trial, state=TrialState.FAIL)
            continue
        trial.set_user_attr(WORKER_ATTR, worker)
        say(f"[sweep] trial {trial.number}: {name} on {worker}")
        _train(study, trial, runs[name], overrides, rungs is not None, settings, launcher)
    ended = not study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
    return study, ended


def _seed(study: optuna.Study, names: list[str]) -> None:
    """Enqueue every config that no trial names yet (the first worker does it; a rerun adds nothing)."""
    if study.user_attrs.get("configs") is None:
        study.set_user_attr("configs", names)
    named = {t.params.get(CONFIG_PARAM) for t in study.get_trials(deepcopy=False) if t.state != TrialState.FAIL} | {
        t.system_attrs.get("fixed_params", {}).get(CONFIG_PARAM) for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    }
    for name in names:
        if name not in named:
            study.enqueue_trial({CONFIG_PARAM: name})


def _held_elsewhere(study: optuna.Study, number: int, name: str) -> bool:
    held = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED)
    return any(t.number != number and t.params.get(CONFIG_PARAM) == name for t in study.get_trials(deepcopy=False, states=held))


def _train(study: optuna.Study, trial: optuna.Trial, entry: SweepRun, overrides: list[str], halving: bool, settings: SharedSettings, launcher: Launcher) -> None:
    run_dir = Path(entry.run_dir)
    state, _ = folder_state(run_dir)
    trial.set_user_attr("run_dir", run_dir.as_posix())
    if state in (DONE, STUCK):
        reason = "already trained: its folder shows a finished run" if state == DONE else "its folder holds a run that can neither resume nor restart"
        trial.set_user_attr(STOP_REASON, "done" if state == DONE else "stuck")
        trial.set_user_attr(STOP_MESSAGE, reason)
        study.tell(trial, state=TrialState.FAIL)
        return
    try:
        with Heartbeat(trial, settings.heartbeat_s):
            hooks = [PruningHook(trial, "halving")] if halving else []
            result = launcher(entry.config, run_name=entry.name, overrides=list(overrides), resume=state == RESUMABLE, hooks=hooks)
    except KeyboardInterrupt:
        trial.set_user_attr(STOP_REASON, "interrupted")
        study.tell(trial, state=TrialState.FAIL)
        requeue(study, study.get_trials(deepcopy=False)[trial.number])
        raise
    except Exception as exc:  # a config, data or folder error: recorded, and the sweep goes on
        trial.set_user_attr(STOP_REASON, "error")
        trial.set_user_attr(STOP_MESSAGE, f"{type(exc).__name__}: {str(exc)[:300]}")
        study.tell(trial, state=TrialState.FAIL)
        return
    trial.set_user_attr(STOP_REASON, result.stop.reason.value)
    best = result.best["mAP"] if result.best else None
    if result.stop.reason is StopReason.PRUNED:
        study.tell(trial, state=TrialState.PRUNED)
    elif result.stop.reason.is_failure or best is None:
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, best)


def status_lines(study: optuna.Study) -> list[str]:
    """Who runs what: one line a trial."""
    lines = [f"{'trial':>5}  {'config':<32} {'state':<9} {'worker':<28} {'epochs':>6} {'mAP':>8}  stop"]
    for t in study.get_trials(deepcopy=False):
        name = t.params.get(CONFIG_PARAM) or t.system_attrs.get("fixed_params", {}).get(CONFIG_PARAM, "-")
        epochs = max(t.intermediate_values, default="-")
        value = f"{t.value:.4f}" if t.value is not None else (f"{max(t.intermediate_values.values()):.4f}" if t.intermediate_values else "-")
        lines.append(f"{t.number:>5}  {name:<32} {t.state.name.lower():<9} {t.user_attrs.get(WORKER_ATTR, '-'):<28} {epochs!s:>6} {value:>8}  {t.user_attrs.get(STOP_REASON, '')}")
    return lines
