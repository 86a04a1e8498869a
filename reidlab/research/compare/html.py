"""report.html: one self-contained page (no network, no scripts), with the table and the plots embedded.

Every piece of text is HTML-escaped (run folder names are user input), and the plots are PNG
data URIs, so the single file can be mailed or opened offline.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Mapping

from reidlab.research.compare.report import deploy_instructions
from reidlab.research.compare.selection import SELECTION_RULE, Selection
from reidlab.research.compare.table import ranking_table, run_title
from reidlab.research.compare.why import why_paragraphs, winner_line
from reidlab.research.compare.winner_breakdowns import WinnerBreakdowns

REPORT_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; }
h1 { margin-bottom: 0.2em; }
.winner { font-size: 1.15em; background: #e8f5e9; border-left: 6px solid #2e7d32; padding: 0.6em 1em; }
.warning { background: #fdecea; border-left: 6px solid #c62828; padding: 0.6em 1em; font-weight: bold; margin: 0.6em 0; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tr.recommended td { background: #e8f5e9; font-weight: bold; }
tr.unranked td { color: #777; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; }
img { max-width: 100%; display: block; margin: 1em 0; }
.small { color: #555; font-size: 0.9em; }
"""


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def report_html(selection: Selection, plots: Mapping[str, bytes], generated: str, winner_plots: WinnerBreakdowns | None = None) -> str:
    """The page; ``plots`` maps a caption to PNG bytes, and ``winner_plots`` are the winner's breakdowns."""
    winner = selection.winner.run
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Best model selection: {escape(winner.label)}</title>",
        f"<style>{REPORT_STYLE}</style></head><body>",
        "<h1>Best model selection</h1>",
        f'<p class="small">Generated {escape(generated)} by <code>reidlab compare</code> from {len(selection.runs)} run folders.</p>',
        f'<p class="winner">Winner: {escape(winner_line(selection))}</p>',
    ]
    parts += [f'<p class="warning">{escape(w)}</p>' for w in selection.warnings]
    parts += ["<h2>Ranking</h2>", _table_html(selection)]
    parts += [f"<h2>Why {escape(winner.label)}</h2>"] + [f"<p>{escape(p)}</p>" for p in why_paragraphs(selection)]
    parts += ["<h2>How to deploy it</h2>", f"<pre>{escape(_deploy_text(selection))}</pre>"]
    parts.append("<h2>Plots</h2>")
    for caption, png in plots.items():
        parts.append(_figure(caption, png))
    if winner_plots is not None and winner_plots.plots:
        parts += [f"<h2>Where {escape(winner.label)} fails</h2>", f'<p class="small">{escape(winner_plots.source)}</p>']
        parts += [_figure(caption, png) for caption, png in winner_plots.plots.items()]
    if selection.unranked:
        parts.append("<h2>Runs not ranked</h2><ul>")
        parts += [
            f"<li><b>{escape(run_title(r.run))}</b>: {escape(r.run.status_text)}; {escape('; '.join(r.run.problems) or 'no evaluated epoch yet')}</li>"
            for r in selection.unranked
        ]
        parts.append("</ul>")
    noted = [r for r in selection.runs if r.rank is not None and r.run.problems]
    if noted:
        parts.append("<h2>Notes</h2><ul>")
        parts += [f"<li><b>{escape(run_title(r.run))}</b>: {escape('; '.join(r.run.problems))}</li>" for r in noted]
        parts.append("</ul>")
    parts += ["<h2>How the winner is chosen</h2>", f"<p>{escape(SELECTION_RULE)}</p>", "</body></html>", ""]
    return "\n".join(parts)


def _figure(caption: str, png: bytes) -> str:
    return f'<figure><img alt="{escape(caption)}" src="{png_data_uri(png)}"><figcaption>{escape(caption)}</figcaption></figure>'


def _table_html(selection: Selection) -> str:
    table = ranking_table(selection)
    rows = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.headers) + "</tr>"]
    for row, ranked in zip(table.rows, selection.runs):
        css = "recommended" if ranked is selection.winner else ("unranked" if ranked.rank is None else "")
        attribute = f' class="{css}"' if css else ""
        rows.append(f"<tr{attribute}>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _deploy_text(selection: Selection) -> str:
    deploy = deploy_instructions(selection.winner.run)
    lines = [f"# weights of the best epoch\n{deploy['weights']}"]
    lines.append(f"# Python\n{deploy['python'].replace('; ', chr(10))}")
    lines.append(f"# ONNX export\n{deploy['export_onnx']}")
    lines.append(f"# or\n{deploy['copy']}")
    return "\n\n".join(lines)
