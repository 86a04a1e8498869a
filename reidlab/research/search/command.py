"""`reidlab search`: Optuna hyperparameter search over ordinary reidlab runs, with pruning.

    reidlab search --config-file F --space SPACE.yml --trials N [--study NAME] [--out DIR]
                   [--storage URL] [--pruner median|halving|none] [--enqueue DIR] [KEY VALUE ...]

- The space file names fast-reid keys with ranges or choices (format: `search_space`;
  example: reidlab/configs/search/example_space.yml). Every key is checked against the config
  schema, every value against the base config, and the space is refused if it can draw an
  invalid batch (IMS_PER_BATCH not divisible by NUM_INSTANCE).
- Each trial is a run directory ``<study folder>/trial_<n>``; the study folder is --out, else an
  OUTPUT_DIR given on the command line, else ``logs/<dataset>/<study>``. KEY VALUE overrides
  (DATASETS.ROOT, ...) apply to every trial; OUTPUT_DIR is set by the search.
- The objective is the best evaluated mAP of the run (the epoch best_model.pth holds); every
  evaluation's mAP is reported at its epoch, for the pruner (MedianPruner by default).
- Storage: Optuna's journal file ``<study folder>/study.journal`` by default (no server; any
  number of workers on one machine run the same command and share the study). --storage takes
  another journal file, ``sqlite:///file.db`` or ``postgresql://user:pass@host/db`` (machines
  that do not share a disk).
- --trials N is the study's total over all workers and reruns: after Ctrl-C (the trial in
  progress is failed as `interrupted` and its configuration queued again), rerunning the same
  command continues the study up to N. See `search_queue` for what counts.
- At the end: the best trial and its run directory, and a compare report over the study folder
  (BEST_MODEL_SELECTION.txt, report.html).

Watch a study live with optuna-dashboard (pip install optuna-dashboard)::

    optuna-dashboard logs/market1501/mystudy/study.journal      # the default journal file
    optuna-dashboard sqlite:///logs/market1501/mystudy/study.db  # --storage sqlite:///...
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from reidlab.config import Config, load_config
from reidlab.engine.train import EXIT_INTERRUPTED
from reidlab.engine.train import train as reidlab_train
from reidlab.research.search.constraints import check_combinations
from reidlab.research.search.errors import SearchError
from reidlab.research.search.heartbeat import Heartbeat
from reidlab.research.search.pruning import build_pruner
from reidlab.research.search.queue import RUN_DIR, STOP_REASON, config_files_in, enqueue_configs, fail_lost_trials, trials_toward_budget, waiting_trials
from reidlab.research.search.space import SearchSpace, check_not_overridden, check_values_against, load_search_space
from reidlab.research.search.storage import load_or_create_study, open_storage
from reidlab.research.search.trial import TrainFunction, TrialContext, interrupted_outcome, record_outcome, run_trial, trial_run_dir
from reidlab.rundir import RunDirError, validate_run_name

HEARTBEAT_INTERVAL_S = 60.0
LOST_AFTER_S = 600.0


@dataclass
class SearchSettings:
    """Everything `reidlab search` takes; the CLI fills it from its arguments."""

    config_file: str
    space_file: str
    trials: int = 20
    study: str | None = None  # default: <config stem>_search
    out: str | None = None  # the study folder; default: OUTPUT_DIR override, else logs/<dataset>/<study>
    storage: str | None = None  # default: <study folder>/study.journal
    pruner: str = "median"
    startup_trials: int = 5
    warmup_epochs: int = 0
    enqueue: str | None = None
    overrides: Sequence[str] = ()
    report: bool = True
    heartbeat_s: float = HEARTBEAT_INTERVAL_S
    lost_after_s: float = LOST_AFTER_S


@dataclass
class SearchResult:
    study_name: str
    study_folder: Path
    storage: str
    dashboard_command: str
    best: FrozenTrial | None
    interrupted: bool
    trials_here: list[int] = field(default_factory=list)  # trial numbers this process ran

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 0 if self.best is not None else 1


def search_main(settings: SearchSettings) -> int:
    """The command: run the search, print its outcome; the exit code (130 after Ctrl-C, 1 if no trial completed)."""
    return run_search(settings).exit_code


def run_search(settings: SearchSettings, train: TrainFunction | None = None, console: Console | None = None) -> SearchResult:
    """Run trials until the study holds `settings.trials`, then report. `train` defaults to reidlab's.

    Raises:
        SearchError: a bad space file, study name, storage or --enqueue folder.
        ConfigError: the base config or the KEY VALUE overrides are invalid.
    """
    train = train or reidlab_train
    if settings.trials < 1:
        raise SearchError(f"--trials {settings.trials}: give at least 1")
    overrides, output_dir = split_output_dir(settings.overrides)
    base = load_config(settings.config_file, overrides)
    space = checked_space(settings.space_file, base, overrides)
    name = study_name(settings)
    folder = study_folder(settings, base, name, output_dir)
    storage = open_storage(settings.storage, folder)
    with quiet_optuna():
        sampler = optuna.samplers.TPESampler()
        pruner = build_pruner(settings.pruner, settings.startup_trials, settings.warmup_epochs)
        study = load_or_create_study(storage, name, sampler, pruner)
        check_no_stray_trial_folders(study, folder)
        describe_study(study, settings, space, base)
        if settings.enqueue:
            seed_queue(study, space, settings, overrides)
        _say(f"Study {name}: {trials_toward_budget(study)} of {settings.trials} trials so far, in {storage.description}; trials go to {folder.as_posix()}/trial_<n>")
        _say(f"Watch it: {storage.dashboard_command}")
        context = TrialContext(settings.config_file, overrides, space, folder, settings.pruner)
        ran, interrupted = run_trials(study, context, settings, train)
        best = best_trial(study)
        result = SearchResult(name, folder, storage.description, storage.dashboard_command, best, interrupted, ran)
        report(study, result, settings, console)
    return result


# ---------------------------------------------------------------- setting up
def split_output_dir(overrides: Sequence[str]) -> tuple[list[str], str | None]:
    """The KEY VALUE pairs without OUTPUT_DIR, and OUTPUT_DIR's value (the study folder) if given."""
    pairs = list(overrides)
    if len(pairs) % 2:
        return pairs, None  # load_config names the key without a value
    kept, output_dir = [], None
    for key, value in zip(pairs[::2], pairs[1::2]):
        if key == "OUTPUT_DIR":
            output_dir = value
        else:
            kept += [key, value]
    return kept, output_dir


def checked_space(space_file: str, base: Config, overrides: Sequence[str]) -> SearchSpace:
    space = load_search_space(space_file)
    check_not_overridden(space, overrides)
    check_values_against(space, base)
    check_combinations(space, base)
    return space


def study_name(settings: SearchSettings) -> str:
    name = settings.study or f"{Path(settings.config_file).stem}_search"
    try:
        return validate_run_name(name)
    except RunDirError:
        raise SearchError(f"--study {name!r}: a study name is one folder name (letters, digits, '-', '_', '.'), without path separators") from None


def study_folder(settings: SearchSettings, base: Config, name: str, output_dir: str | None) -> Path:
    if settings.out:
        return Path(settings.out)
    if output_dir:
        return Path(output_dir)
    return Path("logs") / base.DATASETS.NAMES[0].lower() / name


def check_no_stray_trial_folders(study: optuna.Study, folder: Path) -> None:
    """Refuse a folder holding trial_<n> runs that this study does not know (another study's, or a deleted journal's)."""
    on_disk = {int(p.name[len("trial_"):]) for p in folder.glob("trial_*") if p.is_dir() and p.name[len("trial_"):].isdigit()}
    known = {t.number for t in study.get_trials(deepcopy=False)}  # read after listing: a new trial's folder comes after it
    stray = sorted(on_disk - known)
    if stray:
        raise SearchError(
            f"{trial_run_dir(folder, stray[0]).as_posix()}: this folder holds trial runs that study {study.study_name} does not know "
            "(another study's, or its storage was deleted); choose another --study or --out"
        )


def describe_study(study: optuna.Study, settings: SearchSettings, space: SearchSpace, base: Config) -> None:
    """Record the base config and space with a new study (the dashboard shows them); warn when a rerun changes the space."""
    attrs = study.user_attrs
    if "space" not in attrs:
        study.set_user_attr("config_file", settings.config_file)
        study.set_user_attr("space", space.as_dict())
        study.set_user_attr("dataset", base.DATASETS.NAMES[0])
    elif attrs["space"] != space.as_dict():
        _say(f"Note: {space.source} differs from the space this study started with; new trials use the new one.")


def seed_queue(study: optuna.Study, space: SearchSpace, settings: SearchSettings, overrides: Sequence[str]) -> None:
    """--enqueue DIR: the base config first, then every YAML config in DIR, each trained exactly as written."""
    files = [settings.config_file, *(p.as_posix() for p in config_files_in(settings.enqueue))]
    queued, skipped = enqueue_configs(study, space, files, overrides)
    if queued:
        _say(f"Queued {len(queued)} config(s) to run first: {', '.join(queued)}")
    if skipped:
        _say(f"Already queued in this study, not queued again: {', '.join(skipped)}")


# ---------------------------------------------------------------- the loop
def run_trials(study: optuna.Study, context: TrialContext, settings: SearchSettings, train: TrainFunction) -> tuple[list[int], bool]:
    """Ask, train, tell, until the study holds enough trials; (trial numbers run here, interrupted?)."""
    ran: list[int] = []
    try:
        while True:
            for number in fail_lost_trials(study, settings.lost_after_s):
                _say(f"trial {number} failed: its worker stopped sending heartbeats; its configuration is queued again")
            if trials_toward_budget(study) >= settings.trials:
                return ran, False
            trial = study.ask()
            ran.append(trial.number)
            _say(f"trial {trial.number}: starting")
            try:
                with Heartbeat(trial, settings.heartbeat_s):
                    outcome = run_trial(trial, context, train)
            except KeyboardInterrupt:
                outcome = interrupted_outcome(trial_run_dir(context.study_folder, trial.number))
            record_outcome(study, trial, outcome)
            _say(outcome.summary(trial.number))
            if outcome.interrupted:
                return ran, True
    except KeyboardInterrupt:
        return ran, True


# ---------------------------------------------------------------- the end
def best_trial(study: optuna.Study) -> FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None


def report(study: optuna.Study, result: SearchResult, settings: SearchSettings, console: Console | None) -> None:
    trials = study.get_trials(deepcopy=False)
    _say("")
    _say(f"Study {result.study_name}: {_state_counts(trials)}")
    left = waiting_trials(study)
    if left and not result.interrupted:
        _say(f"{left} queued trial(s) were not run: the study holds --trials {settings.trials}; rerun with a larger --trials to run them")
    if result.best is not None:
        best = result.best
        params = ", ".join(f"{k} {v}" for k, v in best.params.items()) or "the queued config as written"
        _say(f"Best trial {best.number}: mAP {best.value:.4f} ({params})")
        _say(f"Best run directory: {best.user_attrs.get(RUN_DIR, trial_run_dir(result.study_folder, best.number).as_posix())}")
    else:
        _say("No trial completed, so there is no best trial yet.")
    if result.interrupted:
        _say(f"Interrupted. Run the same command again to continue the study (up to --trials {settings.trials}).")
        return
    if settings.report:
        from reidlab.research.compare.command import (  # matplotlib and friends: only when a report is wanted
            CompareError,
            compare_runs,
        )

        try:
            comparison = compare_runs([result.study_folder], out=result.study_folder, console=console)
            _say(f"Compare report over all trials: {(comparison.output_dir / 'BEST_MODEL_SELECTION.txt').as_posix()}")
        except CompareError as exc:
            _say(f"No compare report: {exc}")
    _say(f"Dashboard: {result.dashboard_command}")


def _state_counts(trials: Sequence[FrozenTrial]) -> str:
    parts = []
    for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING):
        chosen = [t for t in trials if t.state == state]
        if not chosen:
            continue
        text = f"{len(chosen)} {state.name.lower()}"
        if state == TrialState.FAIL:
            reasons: dict[str, int] = {}
            for t in chosen:
                reason = str(t.user_attrs.get(STOP_REASON, "unknown"))
                reasons[reason] = reasons.get(reason, 0) + 1
            text += " (" + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())) + ")"
        parts.append(text)
    return ", ".join(parts) or "no trials"


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines repeat what the search prints; keep its warnings."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def _say(text: str) -> None:
    print(f"[search] {text}" if text else "", flush=True)
