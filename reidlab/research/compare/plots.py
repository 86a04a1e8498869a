"""The comparison's plots as PNG bytes: mAP and loss against epoch (runs overlaid), best mAP with intervals.

Figures come from research/figures (matplotlib's Agg canvas, no pyplot). The caller decides
where the bytes go (files, the HTML page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from matplotlib.patches import Patch

from reidlab.research.figures import new_figure, png_bytes

_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


@dataclass(frozen=True)
class Curve:
    """One run's line: (epoch, value) points; dashed when its epochs are approximate (fast-reid)."""

    label: str
    points: Sequence[tuple[float, float]]
    dashed: bool = False


@dataclass(frozen=True)
class MapBar:
    """One run's best mAP (fraction) with its interval, if any."""

    label: str
    mAP: float
    low: float | None = None
    high: float | None = None
    recommended: bool = False
    query_set: str = "A"


def map_by_epoch_png(curves: Sequence[Curve]) -> bytes:
    """mAP (in %) against epoch, all runs overlaid."""
    scaled = [Curve(c.label, [(x, 100.0 * y) for x, y in c.points], c.dashed) for c in curves]
    return _curves_png(scaled, "mAP on the evaluation set", "mAP (%)", "no run has an evaluated epoch with a known epoch number")


def loss_by_epoch_png(curves: Sequence[Curve]) -> bytes:
    """Training loss against epoch, all runs overlaid."""
    return _curves_png(curves, "Training loss", "loss", "no training loss recorded")


def best_map_bars_png(bars: Sequence[MapBar], confidence: float = 0.95) -> bytes:
    """Horizontal bars of best mAP (in %), with the bootstrap interval where per-query results exist."""
    fig, ax = new_figure(8, max(2.5, 0.5 * len(bars) + 1.5), layout="constrained")
    query_sets = sorted({b.query_set for b in bars})
    colour_of = {q: _COLOURS[i % len(_COLOURS)] for i, q in enumerate(query_sets)}
    rows = list(range(len(bars)))[::-1]  # first bar on top
    for row, bar in zip(rows, bars):
        has_interval = bar.low is not None and bar.high is not None
        ax.barh(
            row,
            100.0 * bar.mAP,
            color=colour_of[bar.query_set],
            alpha=0.9 if has_interval else 0.45,
            hatch=None if has_interval else "//",
            edgecolor="black" if bar.recommended else colour_of[bar.query_set],
            linewidth=2.0 if bar.recommended else 0.5,
        )
        if has_interval:
            error = [[100.0 * (bar.mAP - bar.low)], [100.0 * (bar.high - bar.mAP)]]
            ax.errorbar(100.0 * bar.mAP, row, xerr=error, fmt="none", ecolor="black", capsize=4)
        note = "" if has_interval else "  (no interval)"
        ax.text(100.0 * (bar.high if has_interval else bar.mAP), row, f" {100.0 * bar.mAP:.2f}{note}", va="center", fontsize=8)
    ax.set_yticks(rows)
    ax.set_yticklabels([("★ " if b.recommended else "") + b.label for b in bars], fontsize=8)
    ax.set_xlabel("best mAP (%)")
    top = max((100.0 * (b.high if b.high is not None else b.mAP) for b in bars), default=100.0)
    ax.set_xlim(0, min(100.0, top * 1.15) if top > 0 else 1.0)
    title = f"Best mAP with {round(100 * confidence)}% bootstrap intervals (identities resampled)"
    if len(query_sets) > 1:
        title += "\ncolours: different query sets, NOT comparable"
        handles = [Patch(color=colour_of[q], label=f"query set {q}") for q in query_sets]
        ax.legend(handles=handles, fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)


def _curves_png(curves: Sequence[Curve], title: str, ylabel: str, empty_note: str) -> bytes:
    fig, ax = new_figure(8, 4.5, layout="constrained")
    drawn = 0
    for index, curve in enumerate(curves):
        if not curve.points:
            continue
        xs, ys = zip(*sorted(curve.points))
        label = curve.label + (" (epochs approximate)" if curve.dashed else "")
        ax.plot(xs, ys, linestyle="--" if curve.dashed else "-", marker="o" if len(xs) < 30 else None,
                markersize=3, color=_COLOURS[index % len(_COLOURS)], label=label)
        drawn += 1
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, empty_note, ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def ap_scatter_png(label_a: str, ap_a: np.ndarray, label_b: str, ap_b: np.ndarray) -> bytes:
    """Per-query AP of run A against run B: points above the diagonal are queries B does better."""
    fig, ax = new_figure(5, 5, layout="tight")
    better_b = ap_b > ap_a
    ax.scatter(ap_a[better_b], ap_b[better_b], s=8, color="tab:orange", label=f"{label_b} better ({int(better_b.sum())})")
    ax.scatter(ap_a[~better_b], ap_b[~better_b], s=8, color="tab:blue", label=f"{label_a} better or equal ({int((~better_b).sum())})")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=1)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel=f"AP, {label_a}", ylabel=f"AP, {label_b}", title="Per-query AP of the two leading runs")
    ax.legend(loc="lower right", fontsize=8)
    return png_bytes(fig)

