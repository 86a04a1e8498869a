"""The comparison on the terminal: warnings, the ranking table and the winner, drawn with rich."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from .selection import Selection
from .selection_report import ranking_table, why_paragraphs, winner_line


def show_comparison(console: Console, selection: Selection, written: Iterable[Path]) -> None:
    """Print what the report says, in short: warnings first, so they are not missed."""
    for warning in selection.warnings:
        console.print(Text(warning, style="bold red" if "DIFFERENT QUERY SETS" in warning else "yellow"))
    table = ranking_table(selection)
    rich_table = RichTable(title="Runs ranked by best mAP", show_lines=False, header_style="bold")
    for index, header in enumerate(table.headers):
        # Numbers never wrap; names, verdicts and hyperparameters fold when the terminal is narrow.
        wraps = index in (1, 2, 9, 11) or index >= 12
        rich_table.add_column(Text(header), overflow="fold", no_wrap=not wraps)
    for row, ranked in zip(table.rows, selection.runs):
        style = "bold green" if ranked is selection.winner else ("dim" if ranked.rank is None else None)
        rich_table.add_row(*(Text(cell) for cell in row), style=style)  # Text: no markup in run names
    console.print(rich_table)
    console.print(Text("Winner: " + winner_line(selection), style="bold green"))
    for paragraph in why_paragraphs(selection):
        console.print(Text(paragraph))
    for path in written:
        console.print(Text(f"wrote {path}", style="dim"))
