"""Where the winner fails, for compare's report.html: the breakdown plots of `reidlab visualize`
when it ran on the winner's folder, else those that its per-query results alone give."""

from __future__ import annotations

from dataclasses import dataclass, field

from reidlab.research.breakdowns import PLOT_CAPTIONS, breakdown_plots, per_query_numbers
from reidlab.research.runs import RunSummary
from reidlab.rundir import BREAKDOWNS_FILE, VISUALIZE_DIR, WORST_QUERIES_FILE, read_json


@dataclass
class WinnerBreakdowns:
    """Captioned PNGs and one sentence on where they come from (empty when the winner has no per-query data)."""

    plots: dict[str, bytes] = field(default_factory=dict)
    source: str = ""


def winner_breakdowns(run: RunSummary) -> WinnerBreakdowns:
    """Visualize's breakdowns when they belong to the run's best model (same mAP), else the per-query ones."""
    folder = run.path / VISUALIZE_DIR
    numbers, _ = read_json(folder / BREAKDOWNS_FILE)
    stale = ""
    if isinstance(numbers, dict) and isinstance(numbers.get("mAP"), (int, float)):
        if run.best is None or abs(numbers["mAP"] - run.best.mAP) <= 1e-6:
            plots = _captioned(breakdown_plots(numbers))
            sheet = folder / WORST_QUERIES_FILE
            if sheet.is_file():
                plots["The 20 worst queries (frames: green a true match, red a wrong identity, grey a same-camera match)"] = sheet.read_bytes()
            return WinnerBreakdowns(plots, f"From `reidlab visualize` ({(folder / BREAKDOWNS_FILE).as_posix()}).")
        stale = f"{BREAKDOWNS_FILE} of `reidlab visualize` has mAP {numbers['mAP']:.4f}, not the best epoch's {run.best.mAP:.4f}, so it is not used; "
    if run.per_query is None:
        return WinnerBreakdowns()
    hint = f"for camera pairs, distances and rank lists run `reidlab visualize {run.path.as_posix()}`"
    return WinnerBreakdowns(_captioned(breakdown_plots(per_query_numbers(run.per_query))), f"{stale}From the per-query results of the best epoch; {hint}.")


def _captioned(plots: dict[str, bytes]) -> dict[str, bytes]:
    return {PLOT_CAPTIONS.get(name, name): png for name, png in plots.items()}
