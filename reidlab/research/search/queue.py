"""The study's trial budget and queue: what counts toward --trials, seed configs, retries.

--trials N is the study's total, over every worker and every rerun of the command: finished
trials (complete, pruned, failed) and running ones count; an interrupted trial and one whose
worker was lost do not, since their configuration is queued again. The retry (user attribute
`retry_of`) resumes in the lost trial's folder from its last_checkpoint.pth when that folder is
reachable (a shared disk) and can go on; otherwise it trains from the start in a folder of its
own. Two workers that start a trial at the same instant can overrun N by one, as with Optuna's
own MaxTrialsCallback.

Queued config files (--enqueue) record the file in the trial's user attribute `queued_config`,
and the trial trains exactly that file (plus the command line's KEY VALUE overrides). Its values
of the searched keys become the trial's parameters where the space can express them; the others
are listed in the user attribute `outside_space` and are not parameters of the trial.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from reidlab.config import ConfigError, config_value, load_config
from reidlab.research.search.errors import SearchError
from reidlab.research.search.heartbeat import stale_trials
from reidlab.research.search.space import SearchSpace

# Trial user attributes written by the search.
QUEUED_CONFIG = "queued_config"
OUTSIDE_SPACE = "outside_space"
RETRY_OF = "retry_of"
RESUME_DIR = "resume_dir"  # the folder of the trial a retry replaces, to resume from
STOP_REASON = "stop_reason"
STOP_MESSAGE = "stop_message"
RUN_DIR = "run_dir"
CONFIG_FILE = "config_file"

RETRIED_REASONS = {"interrupted", "worker_lost"}
CARRIED_ON_RETRY = (QUEUED_CONFIG, OUTSIDE_SPACE)
CONFIG_SUFFIXES = (".yml", ".yaml")


def counts_toward_budget(trial: FrozenTrial) -> bool:
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get(STOP_REASON) not in RETRIED_REASONS


def trials_toward_budget(study: optuna.Study) -> int:
    return sum(counts_toward_budget(t) for t in study.get_trials(deepcopy=False))


def waiting_trials(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def requeue(study: optuna.Study, trial: FrozenTrial | optuna.Trial) -> None:
    """Queue the same configuration again, as a new trial."""
    attrs: dict[str, Any] = {k: trial.user_attrs[k] for k in CARRIED_ON_RETRY if k in trial.user_attrs}
    attrs[RETRY_OF] = trial.number
    if isinstance(trial.user_attrs.get(RUN_DIR), str):
        attrs[RESUME_DIR] = trial.user_attrs[RUN_DIR]
    study.enqueue_trial(dict(trial.params), user_attrs=attrs)


def fail_lost_trials(study: optuna.Study, grace_s: float) -> list[int]:
    """Mark RUNNING trials without a heartbeat for `grace_s` as failed (worker_lost) and queue them again."""
    failed = []
    for frozen in stale_trials(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)), grace_s):
        # Optuna has no public handle on another process's trial; Trial(study, id) is how its own code gets one.
        trial = optuna.Trial(study, frozen._trial_id)
        try:
            trial.set_user_attr(STOP_REASON, "worker_lost")
            trial.set_user_attr(STOP_MESSAGE, f"No heartbeat for over {grace_s:.0f} s: its worker stopped without finishing it.")
            study.tell(frozen.number, state=TrialState.FAIL)
        except (RuntimeError, ValueError):  # another worker got there first
            continue
        requeue(study, frozen)
        failed.append(frozen.number)
    return failed


def config_files_in(folder: str | Path) -> list[Path]:
    """The YAML configs of an --enqueue folder, by name."""
    path = Path(folder)
    if not path.is_dir():
        raise SearchError(f"--enqueue {path.as_posix()}: not a folder (give the folder of YAML configs, e.g. custom_configs/plateau_solutions)")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in CONFIG_SUFFIXES)
    if not files:
        raise SearchError(f"--enqueue {path.as_posix()}: no .yml or .yaml config in this folder")
    return files


def enqueue_configs(study: optuna.Study, space: SearchSpace, config_files: Sequence[str], overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """Queue one trial per config file not queued in this study before; returns (queued, already there)."""
    already = {t.user_attrs.get(QUEUED_CONFIG) for t in study.get_trials(deepcopy=False)}
    queued, skipped = [], []
    for file in config_files:
        if file in already:
            skipped.append(file)
            continue
        params, outside = expressible_values(space, file, overrides)
        attrs: dict[str, Any] = {QUEUED_CONFIG: file}
        if outside:
            attrs[OUTSIDE_SPACE] = outside
        study.enqueue_trial(params, user_attrs=attrs)
        queued.append(file)
    return queued, skipped


def expressible_values(space: SearchSpace, config_file: str, overrides: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config's values of the searched keys: (as trial parameters, the ones outside the space)."""
    try:
        cfg = load_config(config_file, overrides)
    except ConfigError as exc:
        raise SearchError(f"--enqueue: {exc}") from None
    params, outside = {}, {}
    for param in space.params:
        value = config_value(cfg, param.key)
        if param.contains(value):
            params[param.key] = param.encode(value)
        else:
            outside[param.key] = value
    return params, outside
