"""BEST_MODEL_SELECTION.txt and .json: the winner, the ranking, why, and how to deploy it.

The text is for people and the JSON for programs; both come from the same `Selection`, and
the ranking table here is also what the terminal and the HTML page show, so every output
says the same thing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from reidlab.research.compare.selection import SELECTION_RULE, RankedRun, Selection
from reidlab.research.compare.table import differing_hyperparameters, format_table, ranking_table, run_title
from reidlab.research.compare.why import why_paragraphs, winner_line
from reidlab.research.runs import SOURCE_EVAL, SOURCE_FASTREID, RunSummary
from reidlab.rundir import BEST_MODEL_FILE, CONFIG_FILE

REPORT_FORMAT = "reidlab.best_model_selection"
REPORT_VERSION = 1
_WIDTH = 100


def deploy_instructions(run: RunSummary) -> dict[str, str]:
    """Where the weights are and how to use them: reidlab's deploy API and ONNX export work for reidlab and fast-reid runs alike."""
    run_dir = run.path.resolve().as_posix()
    weights = run.best_model_path.resolve().as_posix() if run.best_model_path else f"{run_dir}/{BEST_MODEL_FILE} (missing)"
    target, config = (weights, f"{run_dir}/{CONFIG_FILE}") if run.source == SOURCE_EVAL else (run_dir, None)
    option = f' --config-file "{config}"' if config else ""
    keyword = f', config_file="{config}"' if config else ""
    return {
        "weights": weights,
        "python": f'from reidlab.deploy import ReIDModel; model = ReIDModel.from_run("{target}"{keyword})',
        "export_onnx": f'reidlab export "{target}"{option} --format onnx',
        "copy": f"copy {weights} to your deployment folder" + ("" if run.source == SOURCE_FASTREID else " (it holds the weights, the config and the metrics)"),
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
    python_import, python_call = deploy["python"].split("; ")
    lines += [
        f"  Weights (best epoch): {deploy['weights']}",
        f"  Python:       {python_import}",
        f"                {python_call}",
        f"  ONNX export:  {deploy['export_onnx']}",
    ]
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


def _problems(run: RunSummary) -> str:
    return "; ".join(run.problems) if run.problems else "no evaluated epoch yet"


def _statistics_line(selection: Selection) -> str:
    s = selection.settings
    return (
        f"Statistics: percentile bootstrap, {round(100 * s.confidence)}% intervals, identities resampled; "
        f"{s.n_resamples} resamples per run interval, {s.n_paired_resamples} per paired test; seed {s.seed}."
    )


def _wrapped(text: str, first: str = "", indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, width=_WIDTH, initial_indent=first, subsequent_indent=indent, break_on_hyphens=False) or [""]
