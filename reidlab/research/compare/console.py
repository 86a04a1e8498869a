"""The comparison on the terminal: warnings, the ranking table and the winner, drawn with rich."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from reidlab.research.compare.selection import Selection
from reidlab.research.compare.table import ranking_table
from reidlab.research.compare.why import why_paragraphs, winner_line

TERMINAL_COLUMNS = ("#", "run", "status", "best mAP %", "95% CI", "rank-1 %", "best epoch", "epochs run", "stop reason", "verdict")
NARROW_TERMINAL_COLUMNS = ("#", "run", "best mAP %", "rank-1 %", "epochs run", "verdict")
WIDE_TERMINAL = 120
WRAPPING_COLUMNS = {"run": 10, "status": 8, "verdict": 14}  # their narrowest readable width


def show_comparison(console: Console, selection: Selection, written: Iterable[Path]) -> None:
    """Print what the report says, in short: warnings first, so they are not missed."""
    for warning in selection.warnings:
        console.print(Text(warning, style="bold red" if "DIFFERENT QUERY SETS" in warning else "yellow"))
    table = ranking_table(selection)
    # The terminal gets the columns that decide; the differing hyperparameters are in the text report.
    columns = TERMINAL_COLUMNS if console.width >= WIDE_TERMINAL else NARROW_TERMINAL_COLUMNS
    shown = [i for i, header in enumerate(table.headers) if header in columns]
    rich_table = RichTable(title="Runs ranked by best mAP", show_lines=False, header_style="bold")
    for index in shown:
        header = table.headers[index]
        rich_table.add_column(Text(header), overflow="fold", no_wrap=header not in WRAPPING_COLUMNS, min_width=WRAPPING_COLUMNS.get(header))
    for row, ranked in zip(table.rows, selection.runs):
        style = "bold green" if ranked is selection.winner else ("dim" if ranked.rank is None else None)
        rich_table.add_row(*(Text(row[i]) for i in shown), style=style)  # Text: no markup in run names
    console.print(rich_table)
    console.print(Text("Hyperparameters that differ between the runs: see BEST_MODEL_SELECTION.txt", style="dim"))
    console.print(Text("Winner: " + winner_line(selection), style="bold green"))
    for paragraph in why_paragraphs(selection):
        console.print(Text(paragraph))
    for path in written:
        console.print(Text(f"wrote {path}", style="dim"))
