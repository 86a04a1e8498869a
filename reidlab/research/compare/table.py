"""The ranking table and the number formats every comparison output shares (text, terminal, HTML)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from reidlab.research.compare.selection import RankedRun, Selection
from reidlab.research.runs import SOURCE_EVAL, SOURCE_FASTREID, RunSummary

NONE = "-"


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


def differing_hyperparameters(runs: Sequence[RunSummary]) -> list[str]:
    """Keys whose recorded values differ between runs (a run without the key does not count)."""
    keys: list[str] = []
    for run in runs:
        keys.extend(k for k in run.hyperparameters if k not in keys)
    differing = []
    for key in keys:
        values = {canonical(run.hyperparameters[key]) for run in runs if key in run.hyperparameters}
        if len(values) > 1:
            differing.append(key)
    return differing


def ranking_table(selection: Selection) -> Table:
    """One row per run, ranked runs first; the columns the issue asks for, plus the statistics."""
    keys = differing_hyperparameters([r.run for r in selection.runs])
    several_sets = len(selection.groups) > 1
    level = round(100 * selection.settings.confidence)
    headers = ["#", "run", "status", "best mAP %", f"{level}% CI", "rank-1 %", "mINP %", "best epoch",
               "epochs run", "stop reason", f"mAP diff [{level}% CI]", "verdict"]
    if several_sets:
        headers.append("query set")
    headers.extend(keys)
    rows = []
    for ranked in selection.runs:
        run, best = ranked.run, ranked.run.best
        row = [
            str(ranked.rank) if ranked.rank is not None else NONE,
            run_title(run),
            run.status_text,
            percent(best.mAP if best else None),
            interval_text(ranked),
            percent(best.rank1 if best else None),
            percent(best.mINP if best else None),
            epoch_text(best.epoch if best else None, best is not None and best.epoch_is_approximate),
            epoch_text(run.epochs_run, run.epochs_are_approximate),
            run.stop_reason or ("not recorded" if run.source == SOURCE_FASTREID else NONE),
            difference_text(ranked),
            ranked.verdict,
        ]
        if several_sets:
            row.append(ranked.query_set or NONE)
        row.extend(value_text(run.hyperparameters.get(key, NONE)) for key in keys)
        rows.append(row)
    return Table(headers, rows)


def run_title(run: RunSummary) -> str:
    return {SOURCE_FASTREID: f"{run.label} [fast-reid]", SOURCE_EVAL: f"{run.label} [eval]"}.get(run.source, run.label)


def format_table(table: Table) -> list[str]:
    """Fixed-width text columns (the file is read in editors and terminals alike)."""
    widths = [max(len(h), *(len(row[i]) for row in table.rows)) if table.rows else len(h) for i, h in enumerate(table.headers)]
    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()
    return [line(table.headers), line(["-" * w for w in widths]), *(line(row) for row in table.rows)]


def interval_text(ranked: RankedRun) -> str:
    i = ranked.map_interval
    return NONE if i is None else f"[{100 * i.low:.2f}, {100 * i.high:.2f}]"


def difference_text(ranked: RankedRun) -> str:
    p = ranked.versus_reference
    return NONE if p is None else f"{100 * p.diff:+.2f} [{100 * p.low:+.2f}, {100 * p.high:+.2f}]"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{100 * value:.2f}"


def epoch_text(value: int | None, approximate: bool) -> str:
    if value is None:
        return "unknown"
    return f"~{value}" if approximate else str(value)


def value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
