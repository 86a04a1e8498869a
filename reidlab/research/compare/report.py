"""BEST_MODEL_SELECTION.txt and .json: the winner, the ranking, why, and how to deploy it.

The text is for people and the JSON for programs; both come from the same `Selection`, and
the ranking table here is also what the terminal and the HTML page show, so every output
says the same thing.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from reidlab.research.compare.selection import SELECTION_RULE, RankedRun, Selection
from reidlab.research.runs import SOURCE_FASTREID, RunSummary
from reidlab.rundir import BEST_MODEL_FILE

REPORT_FORMAT = "reidlab.best_model_selection"
REPORT_VERSION = 1
_WIDTH = 100
_NONE = "-"


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


# ------------------------------------------------------------------ the ranking table
def differing_hyperparameters(runs: Sequence[RunSummary]) -> list[str]:
    """Keys whose recorded values differ between runs (a run without the key does not count)."""
    keys: list[str] = []
    for run in runs:
        keys.extend(k for k in run.hyperparameters if k not in keys)
    differing = []
    for key in keys:
        values = {_canonical(run.hyperparameters[key]) for run in runs if key in run.hyperparameters}
        if len(values) > 1:
            differing.append(key)
    return differing


def ranking_table(selection: Selection) -> Table:
    """One row per run, ranked runs first; the columns the issue asks for, plus the statistics."""
    keys = differing_hyperparameters([r.run for r in selection.runs])
    several_sets = len(selection.groups) > 1
    percent = round(100 * selection.settings.confidence)
    headers = ["#", "run", "status", "best mAP %", f"{percent}% CI", "rank-1 %", "mINP %", "best epoch",
               "epochs run", "stop reason", f"mAP diff [{percent}% CI]", "verdict"]
    if several_sets:
        headers.append("query set")
    headers.extend(keys)
    rows = []
    for ranked in selection.runs:
        run, best = ranked.run, ranked.run.best
        row = [
            str(ranked.rank) if ranked.rank is not None else _NONE,
            run_title(run),
            run.status_text,
            _percent(best.mAP if best else None),
            _interval(ranked),
            _percent(best.rank1 if best else None),
            _percent(best.mINP if best else None),
            _epoch(best.epoch if best else None, best is not None and best.epoch_is_approximate),
            _epoch(run.epochs_run, run.epochs_are_approximate),
            run.stop_reason or ("not recorded" if run.source == SOURCE_FASTREID else _NONE),
            _difference(ranked),
            ranked.verdict,
        ]
        if several_sets:
            row.append(ranked.query_set or _NONE)
        row.extend(_value(run.hyperparameters.get(key, _NONE)) for key in keys)
        rows.append(row)
    return Table(headers, rows)


def run_title(run: RunSummary) -> str:
    return f"{run.label} [fast-reid]" if run.source == SOURCE_FASTREID else run.label


# ------------------------------------------------------------------ why, and how to deploy
def winner_line(selection: Selection) -> str:
    run = selection.winner.run
    best = run.best
    epochs = f" of {_epoch(run.epochs_run, run.epochs_are_approximate)} run" if run.epochs_run is not None else ""
    return (
        f"{run_title(run)}: best mAP {_percent(best.mAP)}% (rank-1 {_percent(best.rank1)}%, mINP {_percent(best.mINP)}%) "
        f"at epoch {_epoch(best.epoch, best.epoch_is_approximate)}{epochs}"
    )


def why_paragraphs(selection: Selection) -> list[str]:
    """Plain words: what the evidence says about the winner, ties named as ties."""
    group = selection.primary
    leader, reference, winner = group.leader, group.reference, group.recommended
    where = group.query_set.description
    if len(group.ranked) == 1:
        return [f"{leader.run.label} is the only rankable run on {where}; there is nothing to compare it with."]
    paragraphs = []
    if group.leader_tested:
        paragraphs.append(f"{leader.run.label} has the highest best mAP on {where}: {_percent(leader.run.best.mAP)}%.")
    else:
        second = group.ranked[1].run
        kind = "a fast-reid run" if leader.run.source == SOURCE_FASTREID else "eval/best_per_query.npz is missing"
        paragraphs.append(
            f"{run_title(leader.run)} has the highest best mAP on {where} ({_percent(leader.run.best.mAP)}%, against "
            f"{_percent(second.best.mAP)}% for {second.label}), but it has no per-query results ({kind}), so no "
            "paired test could check whether its lead is real: it is recommended on its point estimate only."
        )
        if reference is not None:
            paragraphs.append(f"Among the runs with per-query results, {reference.run.label} is the best; the others were tested against it.")
    tested = [r for r in group.ranked if r.versus_reference is not None]
    below = [r for r in tested if not r.tied_with_reference]
    if tested:
        sample = tested[0].versus_reference
        paragraphs.append(
            f"Paired bootstrap against {reference.run.label} on the same {reference.run.per_query.num_valid} queries, "
            f"resampling {sample.n_clusters} identities {sample.n_resamples} times ({round(100 * selection.settings.confidence)}% "
            "percentile intervals of the mAP difference, in percentage points)."
        )
    if group.tied:
        paragraphs.append(
            f"STATISTICALLY TIED: the interval of the mAP difference to {reference.run.label} contains 0 for "
            + ", ".join(_diff_phrase(r) for r in group.tied)
            + ". These runs are statistically tied with it: the mAP difference is within noise, so mAP alone "
            "cannot pick between them."
        )
        if group.leader_tested and winner is not leader:
            paragraphs.append(
                "Tie-break, the cheaper run: among the runs statistically tied with the highest-mAP run, the one with "
                f"the fewest epochs run (then the fewest training seconds) is recommended: {winner.run.label}, "
                f"{_cost(winner.run)}, against {_cost(leader.run)} for {leader.run.label}. Choosing "
                f"{leader.run.label} for its higher mAP would be crowning noise."
            )
        elif group.leader_tested:
            paragraphs.append(
                f"{leader.run.label} is also the cheapest of them ({_cost(leader.run)}), so it stays the "
                "recommendation, but its lead is within noise."
            )
    elif tested:
        verdict = f", so {leader.run.label} is the winner" if group.leader_tested else ""
        paragraphs.append(
            f"Every other tested run is significantly below {reference.run.label} (the interval of the difference "
            f"excludes 0){verdict}."
        )
    if below:
        paragraphs.append(f"Significantly below {reference.run.label}: " + ", ".join(_diff_phrase(r) for r in below) + ".")
    untested = [r for r in group.untested if r is not leader]
    if untested:
        paragraphs.append(
            "Not tested, for lack of per-query results, and ranked by mAP alone: "
            + ", ".join(run_title(r.run) for r in untested) + "."
        )
    return paragraphs


def deploy_instructions(run: RunSummary) -> dict[str, str]:
    """Where the weights are and how to use them (reidlab's deploy API, ONNX export, or a copy)."""
    run_dir = run.path.resolve().as_posix()
    weights = run.best_model_path.resolve().as_posix() if run.best_model_path else f"{run_dir}/{BEST_MODEL_FILE} (missing)"
    if run.source == SOURCE_FASTREID:
        return {
            "weights": weights,
            "note": "fast-reid run: load these weights with fast-reid (reidlab's deploy API reads reidlab run folders).",
            "copy": f"copy {weights} to your deployment folder",
        }
    return {
        "weights": weights,
        "python": f'from reidlab.deploy import ReIDModel; model = ReIDModel.from_run("{run_dir}")',
        "export_onnx": f'reidlab export "{run_dir}" --format onnx',
        "copy": f"copy {weights} to your deployment folder (it holds the weights, the config and the metrics)",
    }


# ------------------------------------------------------------------ the two files
def selection_text(selection: Selection, generated: str, output_dir: Path) -> str:
    """BEST_MODEL_SELECTION.txt."""
    lines = ["BEST MODEL SELECTION", "=" * 20, f"Generated {generated} by `reidlab compare`, {len(selection.runs)} run folders.", ""]
    lines += ["WINNER", "  " + winner_line(selection), f"  {selection.winner.run.path.resolve().as_posix()}", ""]
    for warning in selection.warnings:
        lines += _wrapped("!!! " + warning, indent="    ") + [""]
    lines += ["RANKING", *format_table(ranking_table(selection)), ""]
    lines += [f"WHY {selection.winner.run.label.upper()}"]
    for paragraph in why_paragraphs(selection):
        lines += _wrapped(paragraph, first="  ", indent="  ")
    lines += ["", "HOW TO DEPLOY IT"]
    deploy = deploy_instructions(selection.winner.run)
    lines.append(f"  Weights (best epoch): {deploy['weights']}")
    if "python" in deploy:
        lines += [
            "  Python:       from reidlab.deploy import ReIDModel",
            f'                model = ReIDModel.from_run("{selection.winner.run.path.resolve().as_posix()}")',
            f"  ONNX export:  {deploy['export_onnx']}",
        ]
    else:
        lines.append(f"  {deploy['note']}")
    lines += [f"  Or {deploy['copy']}.", ""]
    if selection.unranked:
        lines.append("RUNS NOT RANKED")
        for ranked in selection.unranked:
            lines += _wrapped(f"- {run_title(ranked.run)}: {ranked.run.status_text}; " + _problems(ranked.run), first="  ", indent="    ")
        lines.append("")
    notes = [r for r in selection.runs if r.rank is not None and r.run.problems]
    if notes:
        lines.append("NOTES")
        for ranked in notes:
            lines += _wrapped(f"- {run_title(ranked.run)}: " + _problems(ranked.run), first="  ", indent="    ")
        lines.append("")
    lines.append("HOW THE WINNER IS CHOSEN")
    lines += _wrapped(SELECTION_RULE, first="  ", indent="  ")
    lines += _wrapped(_statistics_line(selection), first="  ", indent="  ")
    lines += ["", f"Plots and report.html are in {output_dir.resolve().as_posix()}.", ""]
    return "\n".join(lines)


def selection_facts(selection: Selection, generated: str, files: dict[str, str]) -> dict[str, Any]:
    """BEST_MODEL_SELECTION.json: the same facts, for programs (mAP etc. as fractions)."""
    group = selection.primary
    winner = selection.winner.run
    references = {g.query_set.label: g.reference.run.label if g.reference else None for g in selection.groups}
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "generated": generated,
        "winner": {
            "run": winner.label,
            "run_dir": winner.path.resolve().as_posix(),
            "source": winner.source,
            "best": _best_facts(winner),
            "epochs_run": winner.epochs_run,
            "train_seconds": winner.train_seconds,
            "deploy": deploy_instructions(winner),
        },
        "leader": group.leader.run.label,
        "paired_tests_against": group.reference.run.label if group.reference else None,
        "statistically_tied": bool(group.tied),
        "statistically_tied_runs": [r.run.label for r in group.tied],
        "tie_break_used": selection.tie_break_used,
        "why": why_paragraphs(selection),
        "warnings": selection.warnings,
        "different_query_sets": len(selection.groups) > 1,
        "query_sets": [
            {
                "label": g.query_set.label,
                "test_set": g.query_set.test_set,
                "num_queries": g.query_set.num_queries,
                "fingerprint": g.query_set.fingerprint,
                "runs": list(g.query_set.run_labels),
                "leader": g.leader.run.label,
                "recommended": g.recommended.run.label,
                "primary": g is group,
            }
            for g in selection.groups
        ],
        "differing_hyperparameters": differing_hyperparameters([r.run for r in selection.runs]),
        "runs": [_run_facts(r, references.get(r.query_set)) for r in selection.runs],
        "selection_rule": SELECTION_RULE,
        "statistics": {
            "confidence": selection.settings.confidence,
            "n_resamples_interval": selection.settings.n_resamples,
            "n_resamples_paired": selection.settings.n_paired_resamples,
            "resampling": "identities (query pids), percentile intervals",
            "seed": selection.settings.seed,
        },
        "files": files,
    }


def format_table(table: Table) -> list[str]:
    """Fixed-width text columns (the file is read in editors and terminals alike)."""
    widths = [max(len(h), *(len(row[i]) for row in table.rows)) if table.rows else len(h) for i, h in enumerate(table.headers)]
    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()
    return [line(table.headers), line(["-" * w for w in widths]), *(line(row) for row in table.rows)]


# ------------------------------------------------------------------ helpers
def _run_facts(ranked: RankedRun, reference: str | None) -> dict[str, Any]:
    run = ranked.run
    interval = ranked.map_interval
    paired = ranked.versus_reference
    return {
        "rank": ranked.rank,
        "run": run.label,
        "run_dir": run.path.resolve().as_posix(),
        "source": run.source,
        "status": run.state,
        "usable": run.usable,
        "stop_reason": run.stop_reason,
        "stop_message": run.stop_message,
        "best": _best_facts(run),
        "epochs_run": run.epochs_run,
        "epochs_are_approximate": run.epochs_are_approximate,
        "train_seconds": run.train_seconds,
        "query_set": ranked.query_set,
        "test_set": run.test_set,
        "map_interval": None if interval is None else {"low": interval.low, "high": interval.high, "confidence": interval.confidence},
        "paired_test": None if paired is None else {
            "against": reference,
            "diff": paired.diff, "low": paired.low, "high": paired.high, "p_value": paired.p_value,
            "statistically_tied": not paired.significant,
        },
        "verdict": ranked.verdict,
        "best_model": run.best_model_path.resolve().as_posix() if run.best_model_path else None,
        "hyperparameters": run.hyperparameters,
        "problems": run.problems,
    }


def _best_facts(run: RunSummary) -> dict[str, Any] | None:
    best = run.best
    if best is None:
        return None
    return {"mAP": best.mAP, "rank1": best.rank1, "rank5": best.rank5, "rank10": best.rank10, "mINP": best.mINP,
            "epoch": best.epoch, "epoch_is_approximate": best.epoch_is_approximate}


def _diff_phrase(ranked: RankedRun) -> str:
    p = ranked.versus_reference
    return f"{ranked.run.label} ({100 * p.diff:+.2f} points, interval [{100 * p.low:+.2f}, {100 * p.high:+.2f}])"


def _cost(run: RunSummary) -> str:
    epochs = f"{_epoch(run.epochs_run, run.epochs_are_approximate)} epochs"
    return epochs + (f", {run.train_seconds:.0f} s of training" if run.train_seconds is not None else "")


def _problems(run: RunSummary) -> str:
    return "; ".join(run.problems) if run.problems else "no evaluated epoch yet"


def _statistics_line(selection: Selection) -> str:
    s = selection.settings
    return (
        f"Statistics: percentile bootstrap, {round(100 * s.confidence)}% intervals, identities resampled; "
        f"{s.n_resamples} resamples per run interval, {s.n_paired_resamples} per paired test; seed {s.seed}."
    )


def _interval(ranked: RankedRun) -> str:
    i = ranked.map_interval
    return _NONE if i is None else f"[{100 * i.low:.2f}, {100 * i.high:.2f}]"


def _difference(ranked: RankedRun) -> str:
    p = ranked.versus_reference
    return _NONE if p is None else f"{100 * p.diff:+.2f} [{100 * p.low:+.2f}, {100 * p.high:+.2f}]"


def _percent(value: float | None) -> str:
    return _NONE if value is None else f"{100 * value:.2f}"


def _epoch(value: int | None, approximate: bool) -> str:
    if value is None:
        return "unknown"
    return f"~{value}" if approximate else str(value)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _wrapped(text: str, first: str = "", indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, width=_WIDTH, initial_indent=first, subsequent_indent=indent, break_on_hyphens=False) or [""]
