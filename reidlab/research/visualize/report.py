"""A run's own report.html: its curves, why it stopped, where it fails, and its worst queries.

Plots of the run's history are embedded (data URIs); the breakdown plots and grids sit beside the
page and are linked by relative paths, so the folder can be zipped and mailed. No external URL,
script or font.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from reidlab.research.breakdowns import PLOT_CAPTIONS
from reidlab.research.compare.html import REPORT_STYLE, png_data_uri
from reidlab.research.compare.plots import Curve, loss_by_epoch_png, map_by_epoch_png
from reidlab.research.visualize.ranking import Ranking
from reidlab.rundir import STOPPING_REASON_FILE, WORST_QUERIES_FILE, read_history


def run_report_html(run: Path, numbers: dict, plot_files: list[str], drawn: list[int], ranking: Ranking) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Run report: {escape(run.name)}</title>",
        f"<style>{REPORT_STYLE}</style></head><body>",
        f"<h1>Run report: {escape(run.name)}</h1>",
        f'<p class="winner">{escape(ranking.test_set.name)}: mAP {100 * numbers["mAP"]:.2f} %, rank-1 {100 * numbers["rank1"]:.2f} %; '
        f'true matches and impostors overlap by {100 * numbers["distances"]["overlap"]:.1f} %</p>',
    ]
    parts += _history(run)
    reason = run / STOPPING_REASON_FILE
    if reason.is_file():
        parts += ["<h2>Why it stopped</h2>", f"<pre>{escape(reason.read_text(encoding='utf-8'))}</pre>"]
    parts.append("<h2>Where it fails</h2>")
    parts += [f'<figure><img alt="{escape(PLOT_CAPTIONS.get(name, name))}" src="{escape(name)}"><figcaption>{escape(PLOT_CAPTIONS.get(name, name))}</figcaption></figure>' for name in plot_files]
    parts.append(_camera_table(numbers["per_query_camera"]))
    parts += [
        "<h2>The 20 worst queries</h2>",
        '<p class="small">Frames: green a true match, red a wrong identity, grey a same-camera image of the same identity (the protocol drops it).</p>',
        f'<figure><img alt="rank lists of the worst queries" src="{WORST_QUERIES_FILE}"></figure>',
        "<h2>Rank lists drawn</h2><ul>",
        *[f'<li><a href="grids/query_{q}.png">query {q}</a></li>' for q in drawn],
        "</ul></body></html>",
        "",
    ]
    return "\n".join(parts)


def _history(run: Path) -> list[str]:
    history, _ = read_history(run)
    if not history:
        return []
    maps = [(r["epoch"], r["mAP"]) for r in history if isinstance(r.get("mAP"), (int, float))]
    losses = [(r["epoch"], r["loss"]) for r in history if isinstance(r.get("loss"), (int, float))]
    return [
        "<h2>Training</h2>",
        f'<figure><img alt="mAP against epoch" src="{png_data_uri(map_by_epoch_png([Curve(run.name, maps)]))}"></figure>',
        f'<figure><img alt="loss against epoch" src="{png_data_uri(loss_by_epoch_png([Curve(run.name, losses)]))}"></figure>',
    ]


def _camera_table(per_camera: dict) -> str:
    rows = "".join(f"<tr><td>{escape(c)}</td><td>{v['queries']}</td><td>{100 * v['mAP']:.2f}</td><td>{100 * v['rank1']:.2f}</td></tr>" for c, v in per_camera.items())
    return f"<table><tr><th>query camera</th><th>queries</th><th>mAP (%)</th><th>rank-1 (%)</th></tr>{rows}</table>"
