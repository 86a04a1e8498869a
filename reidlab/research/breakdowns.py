"""Where a model fails, in numbers and plots: per query camera, per camera pair, the spread of
per-query AP, the CMC curve, and how far true matches and impostors lie apart.

The numbers that need only per-query results (cameras, AP spread, CMC) come from
`per_query_numbers`; `reidlab visualize` adds the camera pairs and distances from its own
ranking. `breakdown_plots` draws whichever of them a dict holds, so `compare` can show the
winner's breakdowns from its per-query file when nobody ran `visualize` on it.
"""

from __future__ import annotations

import numpy as np

from reidlab.evaluation import PerQueryResult
from reidlab.research.figures import new_figure, png_bytes

CMC_RANKS = 50
AP_BINS = 20

#: what each plot shows, by file name (the report captions)
PLOT_CAPTIONS = {
    "per_camera.png": "mAP and rank-1 by query camera",
    "camera_pairs.png": "mAP by camera pair (query camera x gallery camera)",
    "ap_distribution.png": "Distribution of per-query AP",
    "cmc.png": f"CMC curve up to rank {CMC_RANKS}",
    "distances.png": "Distances of true matches and impostors, with their overlap",
}


def camera_summary(per_query: PerQueryResult, cameras: np.ndarray | None = None) -> dict[str, dict]:
    """mAP and rank-1 of the valid queries of each query camera (the cameras of `per_query.camid`)."""
    out = {}
    for camera in sorted(set(per_query.camid[per_query.valid].tolist()) if cameras is None else cameras):
        chosen = per_query.valid & (per_query.camid == camera)
        if chosen.any():
            out[str(camera)] = {"queries": int(chosen.sum()), "mAP": float(per_query.ap[chosen].mean()), "rank1": float((per_query.first_match_rank[chosen] == 1).mean())}
    return out


def per_query_numbers(per_query: PerQueryResult) -> dict:
    """The breakdowns that per-query results alone give: mAP, rank-1, per query camera, AP histogram, CMC."""
    ap_counts, ap_edges = np.histogram(per_query.ap[per_query.valid], bins=AP_BINS, range=(0.0, 1.0))
    return {
        "mAP": float(per_query.mAP),
        "rank1": float(per_query.rank(1)),
        "per_query_camera": camera_summary(per_query),
        "ap_histogram": {"edges": ap_edges.tolist(), "counts": ap_counts.tolist()},
        "cmc": [float(v) for v in per_query.cmc(CMC_RANKS)],
    }


def histogram_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Shared area of the two histograms, each scaled to 1: 0 when they never meet, 1 when they are the same."""
    if a.sum() == 0 or b.sum() == 0:
        return 0.0
    return float(np.minimum(a / a.sum(), b / b.sum()).sum())


def breakdown_plots(numbers: dict) -> dict[str, bytes]:
    """PNG bytes by file name, for the breakdowns `numbers` holds."""
    plots = {
        "per_camera.png": ("per_query_camera", lambda: _camera_png(numbers)),
        "camera_pairs.png": ("per_camera_pair", lambda: _pairs_png(numbers)),
        "ap_distribution.png": ("ap_histogram", lambda: _bars_png(numbers["ap_histogram"], "Per-query AP", "AP", "queries")),
        "cmc.png": ("cmc", lambda: _cmc_png(numbers["cmc"])),
        "distances.png": ("distances", lambda: _distances_png(numbers["distances"], numbers["metric"])),
    }
    return {name: draw() for name, (key, draw) in plots.items() if numbers.get(key)}


def _camera_png(numbers: dict) -> bytes:
    fig, ax = new_figure()
    cameras = list(numbers["per_query_camera"])
    x = np.arange(len(cameras))
    ax.bar(x - 0.2, [100 * numbers["per_query_camera"][c]["mAP"] for c in cameras], 0.4, label="mAP")
    ax.bar(x + 0.2, [100 * numbers["per_query_camera"][c]["rank1"] for c in cameras], 0.4, label="rank-1")
    ax.set(xticks=x, xticklabels=[f"cam {c}" for c in cameras], ylabel="%", title="By query camera")
    ax.legend()
    return png_bytes(fig)


def _pairs_png(numbers: dict) -> bytes:
    fig, ax = new_figure(5, 4.2)
    cameras = sorted({int(k.split("->")[0]) for k in numbers["per_camera_pair"]} | {int(k.split("->")[1]) for k in numbers["per_camera_pair"]})
    grid = np.full((len(cameras), len(cameras)), np.nan)
    for key, value in numbers["per_camera_pair"].items():
        q, g = (cameras.index(int(part)) for part in key.split("->"))
        grid[q, g] = 100 * value["mAP"]
    image = ax.imshow(grid, vmin=0, vmax=100, cmap="viridis")
    ax.set(xticks=range(len(cameras)), xticklabels=cameras, yticks=range(len(cameras)), yticklabels=cameras,
           xlabel="gallery camera", ylabel="query camera", title="mAP (%) by camera pair")
    fig.colorbar(image, ax=ax)
    return png_bytes(fig)


def _bars_png(histogram: dict, title: str, xlabel: str, ylabel: str) -> bytes:
    fig, ax = new_figure()
    edges = np.asarray(histogram["edges"])
    ax.bar(edges[:-1], histogram["counts"], width=np.diff(edges), align="edge", edgecolor="white")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return png_bytes(fig)


def _cmc_png(cmc: list[float]) -> bytes:
    fig, ax = new_figure()
    ax.plot(range(1, len(cmc) + 1), [100 * v for v in cmc], marker=".")
    ax.set(title="CMC", xlabel="rank", ylabel="matching rate (%)", ylim=(0, 100))
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def _distances_png(distances: dict, metric: str) -> bytes:
    fig, ax = new_figure()
    edges = np.asarray(distances["edges"])
    for key, colour, label in (("true_matches", "tab:green", "true matches"), ("impostors", "tab:red", "impostors")):
        counts = np.asarray(distances[key], dtype=float)
        ax.stairs(counts / max(counts.sum(), 1), edges, color=colour, fill=True, alpha=0.4, label=label)
    ax.set(title=f"Distances ({metric}); overlap {100 * distances['overlap']:.1f} %", xlabel="distance", ylabel="fraction")
    ax.legend()
    return png_bytes(fig)
