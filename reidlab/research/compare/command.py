"""`reidlab compare PATH... [--out DIR]`: read runs, choose the model to deploy, write the report.

Outputs (each written atomically) go to the runs' common parent, or to ``out``:
BEST_MODEL_SELECTION.txt (for people), BEST_MODEL_SELECTION.json (for programs),
map_by_epoch.png, loss_by_epoch.png, best_map_intervals.png and report.html (one
self-contained page). The terminal shows the ranking table. The selection rule is in
`reidlab.research.compare.selection`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np
from rich.console import Console

from reidlab.errors import UserError
from reidlab.research.compare.console import show_comparison
from reidlab.research.compare.html import report_html
from reidlab.research.compare.plots import Curve, MapBar, ap_scatter_png, best_map_bars_png, loss_by_epoch_png, map_by_epoch_png
from reidlab.research.compare.report import selection_facts, selection_text
from reidlab.research.compare.selection import Selection, StatisticsSettings, select_model
from reidlab.research.compare.winner_breakdowns import winner_breakdowns
from reidlab.research.runs import SOURCE_FASTREID, RunSummary, common_parent, find_run_folders, read_run, run_labels
from reidlab.rundir import write_bytes_atomic, write_json_atomic, write_text_atomic

SELECTION_TEXT_FILE = "BEST_MODEL_SELECTION.txt"
SELECTION_JSON_FILE = "BEST_MODEL_SELECTION.json"
MAP_PLOT_FILE = "map_by_epoch.png"
LOSS_PLOT_FILE = "loss_by_epoch.png"
INTERVALS_PLOT_FILE = "best_map_intervals.png"
AP_SCATTER_PLOT_FILE = "per_query_ap_top_two.png"
HTML_REPORT_FILE = "report.html"
EXIT_USER_ERROR = 2


class CompareError(UserError):
    """Nothing to compare: no run folder, or no run with an evaluated epoch. One line for the user."""


@dataclass
class ComparisonResult:
    runs: list[RunSummary]
    selection: Selection
    output_dir: Path
    files: dict[str, Path]  # SELECTION_TEXT_FILE etc. -> where it was written

    @property
    def winner(self) -> RunSummary:
        return self.selection.winner.run


def compare_runs(
    paths: Sequence[str | Path],
    out: str | Path | None = None,
    console: Console | None = None,
    settings: StatisticsSettings = StatisticsSettings(),
) -> ComparisonResult:
    """Compare the runs found in ``paths``; write the report and show the table.

    Raises:
        CompareError: no run folder found, or none of them has an evaluated epoch.
    """
    if not paths:
        raise CompareError("give at least one run folder, folder of runs, or glob")
    found = find_run_folders(paths)
    if not found.folders:
        raise CompareError(
            f"no run folder found in {', '.join(map(str, paths))} "
            "(a run folder holds model_info.json, or metrics.json for a fast-reid run)"
        )
    parent = common_parent(found.folders)
    runs = [read_run(folder, label) for folder, label in zip(found.folders, run_labels(found.folders, parent))]
    if not any(run.usable for run in runs):
        raise CompareError(_nothing_usable(runs, parent))
    selection = select_model(runs, settings)
    if found.unmatched:
        selection.warnings.insert(0, f"No run folder found for: {', '.join(found.unmatched)}.")

    output_dir = Path(out) if out is not None else parent
    generated = datetime.now().astimezone().isoformat(timespec="seconds")
    files = _write_outputs(selection, output_dir, generated)
    show_comparison(console or Console(), selection, files.values())
    return ComparisonResult(runs, selection, output_dir, files)


def compare_main(paths: Sequence[str | Path], out: str | Path | None = None, console: Console | None = None) -> int:
    """The command's exit code: 0 when a report was written, 2 when there is nothing to compare."""
    try:
        compare_runs(paths, out, console)
    except CompareError as exc:
        print(f"reidlab compare: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:
        print(f"reidlab compare: error: cannot write the report: {exc}", file=sys.stderr)
        return 1
    return 0


def _write_outputs(selection: Selection, output_dir: Path, generated: str) -> dict[str, Path]:
    """Plots first, the selection text last: when the text is there, everything is."""
    plots = {
        MAP_PLOT_FILE: map_by_epoch_png(_curves(selection, "map")),
        LOSS_PLOT_FILE: loss_by_epoch_png(_curves(selection, "loss")),
        INTERVALS_PLOT_FILE: best_map_bars_png(_bars(selection), selection.settings.confidence),
    }
    scatter = _top_two_scatter(selection)
    if scatter is not None:
        plots[AP_SCATTER_PLOT_FILE] = scatter
    files = {name: output_dir / name for name in (*plots, HTML_REPORT_FILE, SELECTION_JSON_FILE, SELECTION_TEXT_FILE)}
    for name, png in plots.items():
        write_bytes_atomic(files[name], png)
    captions = {
        "mAP against epoch, all runs": plots[MAP_PLOT_FILE],
        "Training loss against epoch, all runs": plots[LOSS_PLOT_FILE],
        "Best mAP with bootstrap intervals": plots[INTERVALS_PLOT_FILE],
    }
    if scatter is not None:
        captions["Per-query AP of the two leading runs (above the diagonal: the second does better)"] = scatter
    write_text_atomic(files[HTML_REPORT_FILE], report_html(selection, captions, generated, winner_breakdowns(selection.winner.run)))
    listing = {name: path.resolve().as_posix() for name, path in files.items()}
    write_json_atomic(files[SELECTION_JSON_FILE], selection_facts(selection, generated, listing))
    write_text_atomic(files[SELECTION_TEXT_FILE], selection_text(selection, generated, output_dir))
    return files


def _top_two_scatter(selection: Selection) -> bytes | None:
    """Per-query AP of the two best runs with per-query results on the same queries; None when there are not two."""
    runs = [r.run for r in selection.runs if r.rank is not None and r.run.per_query is not None]
    if len(runs) < 2:
        return None
    a, b = runs[0].per_query, runs[1].per_query
    if not (np.array_equal(a.query_index, b.query_index) and np.array_equal(a.pid, b.pid)):
        return None
    valid = a.valid & b.valid
    return ap_scatter_png(runs[0].label, a.ap[valid], runs[1].label, b.ap[valid])


def _curves(selection: Selection, kind: str) -> list[Curve]:
    curves = []
    for ranked in selection.runs:
        run = ranked.run
        points = run.map_curve if kind == "map" else run.loss_curve
        curves.append(Curve(label=run.label, points=points, dashed=run.source == SOURCE_FASTREID))
    return curves


def _bars(selection: Selection) -> list[MapBar]:
    bars = []
    for ranked in selection.runs:
        if ranked.rank is None:
            continue
        interval = ranked.map_interval
        bars.append(
            MapBar(
                label=ranked.run.label + (" [fast-reid]" if ranked.run.source == SOURCE_FASTREID else ""),
                mAP=ranked.run.best.mAP,
                low=interval.low if interval else None,
                high=interval.high if interval else None,
                recommended=ranked is selection.winner,
                query_set=ranked.query_set or "?",
            )
        )
    return bars


def _nothing_usable(runs: list[RunSummary], parent: Path) -> str:
    described = ", ".join(f"{run.label} ({run.status_text})" for run in runs[:5])
    more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
    return (
        f"none of the {len(runs)} run folders under {parent} has an evaluated epoch, so there is nothing to compare: "
        f"{described}{more}"
    )
