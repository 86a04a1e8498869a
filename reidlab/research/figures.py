"""matplotlib figures drawn on the Agg canvas directly (no pyplot, no display, no global state), so
report plots work on a headless server and from several threads; callers get PNG bytes."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float = 6.4, height: float = 3.6, layout: str = "tight", dpi: int = 100):
    """A figure with one subplot: (figure, axes)."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
