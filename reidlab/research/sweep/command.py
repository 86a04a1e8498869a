"""`reidlab sweep CONFIG_DIR_OR_FILES [KEY VALUE ...]`: train several configs, keep going past failures, pick the best.

Strategies:
* sequential (the seed's way): each config to its own early stop, one after the other.
* halving: successive halving by epochs (`reidlab.research.sweep.halving`): losers stop at their rung,
  survivors resume from their checkpoints; it reports its epochs against sequential's.

Each config trains as `reidlab train --config-file CONFIG --run-name <file stem> KEY VALUE ...`.
sweep.json (beside the runs, or in `out`) records every run's status and compute after each
change; running the same command again resumes the sweep without repeating finished runs.
At the end `compare` ranks the runs and the winner is printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Callable, Sequence

from optuna.trial import TrialState
from rich.console import Console

from reidlab.research.compare import CompareError, ComparisonResult, compare_runs
from reidlab.research.sweep.halving import best_map_up_to, rank_at_rung, rung_epochs, survivors_count
from reidlab.research.sweep.plan import SweepError, find_sweep_configs, open_state, plan_runs, sweep_file_for
from reidlab.research.sweep.runs import Launcher, SweepInterrupted, advance, history_of
from reidlab.research.sweep.shared import CONFIG_PARAM, SharedSettings, open_sweep_study, run_shared, status_lines
from reidlab.research.sweep.state import FAILED, FINISHED, INTERRUPTED, PAUSED, PENDING, RUNNING, STOPPED_AT_RUNG, SWEEP_FINISHED, SWEEP_INTERRUPTED, SweepRun, SweepState, now_iso

SEQUENTIAL, HALVING = "sequential", "halving"
STRATEGIES = (SEQUENTIAL, HALVING)
DEFAULT_ETA = 3
EXIT_INTERRUPTED = 130
_TRAINABLE = (PENDING, PAUSED, RUNNING, INTERRUPTED)


@dataclass
class SweepResult:
    state: SweepState
    path: Path  # sweep.json
    winner: SweepRun | None
    comparison: ComparisonResult | None
    exit_code: int


def sweep(
    inputs: Sequence[str | Path],
    overrides: Sequence[str] = (),
    strategy: str = SEQUENTIAL,
    eta: int = DEFAULT_ETA,
    min_epochs: int | None = None,
    out: str | Path | None = None,
    launcher: Launcher | None = None,
    say: Callable[[str], None] = print,
    shared: SharedSettings | None = None,
) -> SweepResult:
    """Run (or resume) a sweep over the configs in `inputs`; `overrides` apply to every run.

    Raises:
        SweepError: see the class.
    """
    if strategy not in STRATEGIES:
        raise SweepError(f"--strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if strategy == HALVING and eta < 2:
        raise SweepError(f"--eta {eta}: successive halving keeps 1/eta of the runs at each rung; use 2 or 3")
    if launcher is None:
        from reidlab.engine.train import train as launcher
    overrides = list(overrides)
    planned = plan_runs(find_sweep_configs(inputs), overrides)
    path = sweep_file_for(planned, out)
    if shared is not None:
        return _shared(planned, overrides, strategy, eta, min_epochs, shared, path, launcher, say)
    state = open_state(path, planned, strategy, eta if strategy == HALVING else None, min_epochs if strategy == HALVING else None, overrides)

    def save() -> None:
        state.save(path)

    save()
    say(f"Sweep of {len(state.runs)} configs ({strategy}); progress in {path}")
    try:
        if strategy == HALVING:
            _halving(state, launcher, overrides, eta, min_epochs, save, say)
        else:
            _sequential(state, launcher, overrides, save, say)
    except (SweepInterrupted, KeyboardInterrupt):
        state.status = SWEEP_INTERRUPTED
        save()
        say(f"Sweep interrupted. Run the same command again to resume it: {path}")
        return SweepResult(state, path, None, None, EXIT_INTERRUPTED)
    return _finish(state, path, strategy, save, say)


def sweep_main(
    configs: Sequence[str], overrides: Sequence[str] = (), strategy: str = SEQUENTIAL, eta: int = DEFAULT_ETA, min_epochs: int | None = None,
    out: str | None = None, storage: str | None = None, study: str | None = None, status: bool = False,
) -> int:
    """The command's one call: run the sweep (shared through `storage` when given), or print its status; its exit code."""
    if status or storage or study:
        if not storage or not study:
            raise SweepError("--storage and --study go together: a shared sweep is named by both (e.g. --storage postgresql://user:pass@host/db --study remedies)")
        if status:
            for line in status_lines(open_sweep_study(SharedSettings(storage, study), Path(out or "."))):
                print(line)
            return 0
    shared = SharedSettings(storage, study) if storage and study else None
    return sweep(configs, overrides, strategy, eta, min_epochs, out, shared=shared).exit_code


def _shared(planned, overrides, strategy, eta, min_epochs, shared: SharedSettings, path: Path, launcher: Launcher, say) -> SweepResult:
    """Work on the shared sweep until nothing is left; the worker that sees every run ended compares them."""
    loadable = [e for e in planned if e.run_dir]
    rungs = rung_epochs([e.eval_period or 1 for e in loadable], [e.max_epoch for e in loadable], eta, min_epochs) if strategy == HALVING else None
    say(f"Shared sweep {shared.study} of {len(loadable)} configs ({strategy}{f', rungs at epochs {rungs}' if rungs else ''}) in {shared.storage.split('@')[-1]}")
    study, ended = run_shared(planned, overrides, rungs, eta, shared, path.parent, launcher, say)
    for line in status_lines(study):
        say(line)
    state = SweepState(strategy=strategy, overrides=overrides, runs=planned, eta=eta, min_epochs=min_epochs, started=now_iso())
    if not ended:
        say("Other workers are still training; the last one to finish compares the runs.")
        return SweepResult(state, path, None, None, 0)
    finished = {t.params.get(CONFIG_PARAM) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    for entry in planned:
        entry.status = FINISHED if entry.name in finished else (STOPPED_AT_RUNG if entry.run_dir else FAILED)
    comparison = _compare(state, path.parent, say)
    winner = comparison.winner if comparison is not None else None
    if winner is not None:
        say(f"Winner: {winner.label} (see {comparison.files.get('BEST_MODEL_SELECTION.txt')})")
    return SweepResult(state, path, None, comparison, 0 if winner is not None else 1)


# ---------------------------------------------------------------- strategies
def _sequential(state: SweepState, launcher: Launcher, overrides: list[str], save, say) -> None:
    for entry in state.runs:
        if entry.status not in _TRAINABLE:
            say(f"  {entry.name}: {entry.status}, not run again")
            continue
        say(f"  {entry.name}: training to its own early stop")
        advance(entry, launcher, overrides, None, save)
        say(f"  {entry.name}: {entry.status} after {entry.epochs} epochs ({entry.stop_reason}) best mAP {_map(entry.best_mAP)}")


def _halving(state: SweepState, launcher: Launcher, overrides: list[str], eta: int, min_epochs: int | None, save, say) -> None:
    loadable = [e for e in state.runs if e.max_epoch is not None]
    state.rungs = rung_epochs([e.eval_period or 1 for e in loadable], [e.max_epoch for e in loadable], eta, min_epochs)
    if not state.rungs:
        state.notes.append("No rung fits below MAX_EPOCH (TEST.EVAL_PERIOD too long?): every run trains to its own end.")
    save()
    say(f"  rungs at epochs {state.rungs}, keeping the best 1/{eta} at each")
    order = [e.name for e in state.runs]
    for rung in state.rungs:
        contenders = _contenders(state)
        if len(contenders) <= 1:
            break
        for entry in contenders:
            if entry.status in _TRAINABLE and entry.epochs < rung:
                say(f"  {entry.name}: training to rung epoch {rung}")
                advance(entry, launcher, overrides, rung, save)
        contenders = _contenders(state)
        maps = {e.name: best_map_up_to(history_of(e), rung) for e in contenders}
        ranked = rank_at_rung(maps, order)
        keep = survivors_count(len(ranked), eta)
        for name in ranked[keep:]:
            loser = state.run(name)
            loser.stopped_at_rung = rung
            if loser.status in _TRAINABLE:
                loser.status = STOPPED_AT_RUNG
        save()
        say(f"  rung {rung}: " + ", ".join(f"{n} {_map(maps[n])}{'' if i < keep else ' (stops)'}" for i, n in enumerate(ranked)))
        if not any(e.status in _TRAINABLE for e in _contenders(state)):
            break
    for entry in _contenders(state):
        if entry.status in _TRAINABLE:
            say(f"  {entry.name}: survivor, training to its own early stop")
            advance(entry, launcher, overrides, None, save)


def _contenders(state: SweepState) -> list[SweepRun]:
    return [e for e in state.runs if e.status != FAILED and e.stopped_at_rung is None]


# ---------------------------------------------------------------- the end
def _finish(state: SweepState, path: Path, strategy: str, save, say) -> SweepResult:
    ranked = [e for e in state.runs if e.best_mAP is not None and e.status != FAILED]
    winner = max(ranked, key=lambda e: e.best_mAP, default=None)
    state.winner = winner.name if winner else None
    state.sequential_epochs_estimate = _sequential_estimate(state) if strategy == HALVING else float(state.epochs_spent)
    state.status = SWEEP_FINISHED
    save()
    comparison = _compare(state, path.parent, say)
    for line in summary_lines(state):
        say(line)
    if winner is not None:
        say(f"Winner (highest best mAP): {winner.name}  mAP {winner.best_mAP:.4f} at epoch {winner.best_epoch}  ({winner.run_dir})")
    if comparison is not None and comparison.winner is not None:
        say(f"compare recommends: {comparison.winner.label} (see {comparison.files.get('BEST_MODEL_SELECTION.txt')})")
    return SweepResult(state, path, winner, comparison, 0 if winner is not None else 1)


def _sequential_estimate(state: SweepState) -> float:
    """What sequential would have spent: runs stopped at a rung are assumed to train as long as those that ended on their own."""
    ended = [e.epochs for e in state.runs if e.status == FINISHED]
    total = 0.0
    for entry in state.runs:
        if entry.status != STOPPED_AT_RUNG:
            total += entry.epochs
        elif ended:
            total += max(entry.epochs, min(mean(ended), entry.max_epoch or mean(ended)))
        else:
            total += max(entry.epochs, entry.max_epoch or 0)
    return round(total, 1)


def summary_lines(state: SweepState) -> list[str]:
    lines = ["", f"{'run':<40} {'status':<16} {'epochs':>6} {'seconds':>9} {'best mAP':>9}"]
    for e in state.runs:
        status = f"stopped@{e.stopped_at_rung}" if e.status == STOPPED_AT_RUNG else e.status
        lines.append(f"{e.name:<40} {status:<16} {e.epochs:>6} {e.seconds:>9.1f} {_map(e.best_mAP):>9}")
        if e.status == FAILED and e.message:
            lines.append(f"    {e.message[:160]}")
    lines.append(f"Compute: {state.epochs_spent} epochs, {state.seconds_spent:.0f} s")
    if state.strategy == HALVING and state.sequential_epochs_estimate:
        ratio = state.epochs_spent / state.sequential_epochs_estimate
        lines.append(
            f"Halving spent {state.epochs_spent} epochs; sequential would have spent about {state.sequential_epochs_estimate:g} "
            f"(stopped runs assumed as long as those that finished): {100 * ratio:.0f}%"
        )
    return lines


def _compare(state: SweepState, out: Path, say) -> ComparisonResult | None:
    """compare over the sweep's runs; runs stopped at a rung are left out (their mAP is from fewer epochs,
    and compare's cheapest-among-ties rule would favour them for exactly that reason)."""
    folders = [e.run_dir for e in state.runs if e.run_dir and Path(e.run_dir).is_dir() and e.status != STOPPED_AT_RUNG]
    if not folders:
        return None
    left_out = [e.name for e in state.runs if e.status == STOPPED_AT_RUNG]
    if left_out:
        say(f"compare leaves out the runs stopped at a rung ({', '.join(left_out)}): they trained fewer epochs.")
    try:
        return compare_runs(folders, out, Console())
    except CompareError as exc:
        say(f"compare: {exc}")
    except OSError as exc:
        say(f"compare: cannot write the report: {exc}")
    return None


def _map(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
