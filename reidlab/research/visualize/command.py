"""`reidlab visualize`: which queries fail and why, as rank-list grids, breakdowns and a report.html."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from reidlab.config import override_config
from reidlab.evaluation.rank_pictures import Tile, contact_sheet, query_grid, query_title, worst_queries
from reidlab.research.breakdowns import breakdown_plots
from reidlab.research.visualize.breakdowns import breakdowns
from reidlab.research.visualize.ranking import Ranking, VisualizeError, load_for_visualize, rank_test_set
from reidlab.research.visualize.report import run_report_html
from reidlab.rundir import BREAKDOWNS_FILE, VISUALIZE_DIR, WORST_QUERIES_FILE, write_bytes_atomic, write_json_atomic, write_text_atomic

MODES = ("worst", "best", "random")
SHEET_SIZE = 20  # queries on the contact sheet of the worst, and drawn per mode


@dataclass
class VisualizeResult:
    folder: Path
    ranking: Ranking
    queries: list[int]  # drawn, in the order drawn
    tiles: dict[int, list[Tile]]  # query -> its gallery tiles (position and frame colour)
    numbers: dict


def visualize_main(folder: str, queries: str = "worst", top: int = 10, out: str | None = None) -> int:
    visualize(Path(folder), queries, top, Path(out) if out else None)
    return 0


def visualize(folder: Path, queries: str = "worst", top: int = 10, out: Path | None = None, overrides: list[str] | None = None, say: Callable[[str], None] = print) -> VisualizeResult:
    """Rank the folder's test set with its model, then write grids, breakdowns.json, plots and report.html into `out`."""
    if top < 1:
        raise VisualizeError(f"--top {top}: give at least 1")
    if not folder.is_dir():
        raise VisualizeError(f"{folder}: not a folder (give a run folder or an eval folder of `reidlab eval`)")
    loaded = load_for_visualize(folder)
    cfg = override_config(loaded.cfg, overrides) if overrides else loaded.cfg
    ranking = rank_test_set(loaded, cfg, top)
    chosen = choose_queries(ranking, queries)
    out = out or folder / VISUALIZE_DIR
    tiles: dict[int, list[Tile]] = {}
    grids = {}
    for query in chosen + [q for q in worst_queries(ranking.per_query)[:SHEET_SIZE] if q not in chosen]:
        grids[query], tiles[query] = _grid(ranking, query)
    for query in chosen:
        _write_png(out / "grids" / f"query_{query}.png", grids[query])
    _write_png(out / WORST_QUERIES_FILE, contact_sheet([grids[q] for q in worst_queries(ranking.per_query)[:SHEET_SIZE]]))
    numbers = breakdowns(ranking)
    write_json_atomic(out / BREAKDOWNS_FILE, numbers)
    plots = breakdown_plots(numbers)
    for name, png in plots.items():
        write_bytes_atomic(out / name, png)
    write_text_atomic(out / "report.html", run_report_html(folder, numbers, list(plots), chosen, ranking))
    say(f"{len(chosen)} rank lists ({queries}, top {top}) of {ranking.test_set.name}: mAP {100 * numbers['mAP']:.2f} %; wrote {out / 'report.html'}")
    return VisualizeResult(out, ranking, chosen, tiles, numbers)


def choose_queries(ranking: Ranking, how: str) -> list[int]:
    """worst / best / random (seeded) SHEET_SIZE queries, or every query of the identities ID,ID,..."""
    if how in ("worst", "best"):
        ordered = worst_queries(ranking.per_query)
        return (ordered if how == "worst" else ordered[::-1])[:SHEET_SIZE]
    if how == "random":
        valid = worst_queries(ranking.per_query)
        return sorted(np.random.default_rng(0).choice(valid, size=min(SHEET_SIZE, len(valid)), replace=False).tolist())
    try:
        wanted = {int(part) for part in how.split(",") if part.strip()}
    except ValueError:
        raise VisualizeError(f"--queries {how!r}: choose {', '.join(MODES)}, or identities as ID,ID,...") from None
    pids = ranking.test_set.pids[: ranking.test_set.num_query]
    found = [int(i) for i in np.flatnonzero(np.isin(pids, list(wanted)))]
    if not found:
        raise VisualizeError(f"--queries {how}: no query has identity {', '.join(map(str, sorted(wanted)))} in {ranking.test_set.name}")
    return found


def _grid(ranking: Ranking, query: int):
    pq, test = ranking.per_query, ranking.test_set
    row = int(np.flatnonzero(pq.query_index == query)[0])
    title = query_title(pq, test.pids, test.camids, query)
    return query_grid(test.paths, test.pids, test.camids, test.num_query, query, ranking.top_index[row], ranking.top_distance[row], title)


def _write_png(path: Path, image) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    write_bytes_atomic(path, buffer.getvalue())
