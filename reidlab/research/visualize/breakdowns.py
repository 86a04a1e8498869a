"""Where the model fails, in numbers (breakdowns.json) and in plots: per camera, per camera pair,
the spread of per-query AP, the CMC curve, and how far true matches and impostors lie apart."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reidlab.evaluation import PerQueryResult
from reidlab.research.compare.plots import png_bytes
from reidlab.research.visualize.ranking import Ranking

CMC_RANKS = 50
AP_BINS = 20


def camera_summary(per_query: PerQueryResult, cameras: np.ndarray | None = None) -> dict[str, dict]:
    """mAP and rank-1 of the valid queries of each query camera (the cameras of `per_query.camid`)."""
    out = {}
    for camera in sorted(set(per_query.camid[per_query.valid].tolist()) if cameras is None else cameras):
        chosen = per_query.valid & (per_query.camid == camera)
        if chosen.any():
            out[str(camera)] = {"queries": int(chosen.sum()), "mAP": float(per_query.ap[chosen].mean()), "rank1": float((per_query.first_match_rank[chosen] == 1).mean())}
    return out


def breakdowns(ranking: Ranking) -> dict:
    """Every number the plots show, for breakdowns.json."""
    per_query = ranking.per_query
    ap = per_query.ap[per_query.valid]
    ap_counts, ap_edges = np.histogram(ap, bins=AP_BINS, range=(0.0, 1.0))
    true_counts, _ = np.histogram(np.clip(ranking.true_distances, ranking.edges[0], ranking.edges[-1]), ranking.edges)
    pairs = {
        f"{query_camera}->{gallery_camera}": numbers
        for gallery_camera, restricted in ranking.per_gallery_camera.items()
        for query_camera, numbers in camera_summary(restricted).items()
    }
    return {
        "test_set": ranking.test_set.name,
        "metric": ranking.metric,
        "mAP": float(per_query.mAP),
        "rank1": float(per_query.rank(1)),
        "per_query_camera": camera_summary(per_query),
        "per_camera_pair": pairs,
        "ap_histogram": {"edges": ap_edges.tolist(), "counts": ap_counts.tolist()},
        "cmc": [float(v) for v in per_query.cmc(CMC_RANKS)],
        "distances": {
            "edges": ranking.edges.tolist(),
            "true_matches": true_counts.tolist(),
            "impostors": ranking.impostor_counts.tolist(),
            "overlap": histogram_overlap(true_counts, ranking.impostor_counts),
        },
        "notes": ranking.notes,
    }


def histogram_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Shared area of the two histograms, each scaled to 1: 0 when they never meet, 1 when they are the same."""
    if a.sum() == 0 or b.sum() == 0:
        return 0.0
    return float(np.minimum(a / a.sum(), b / b.sum()).sum())


def breakdown_plots(numbers: dict) -> dict[str, bytes]:
    """PNG bytes by file name."""
    return {
        "per_camera.png": _camera_png(numbers),
        "camera_pairs.png": _pairs_png(numbers),
        "ap_distribution.png": _bars_png(numbers["ap_histogram"], "Per-query AP", "AP", "queries"),
        "cmc.png": _cmc_png(numbers["cmc"]),
        "distances.png": _distances_png(numbers["distances"], numbers["metric"]),
    }


def _figure(width: float = 6.4, height: float = 3.6):
    fig = Figure(figsize=(width, height), dpi=100, layout="tight")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _camera_png(numbers: dict) -> bytes:
    fig, ax = _figure()
    cameras = list(numbers["per_query_camera"])
    x = np.arange(len(cameras))
    ax.bar(x - 0.2, [100 * numbers["per_query_camera"][c]["mAP"] for c in cameras], 0.4, label="mAP")
    ax.bar(x + 0.2, [100 * numbers["per_query_camera"][c]["rank1"] for c in cameras], 0.4, label="rank-1")
    ax.set(xticks=x, xticklabels=[f"cam {c}" for c in cameras], ylabel="%", title="By query camera")
    ax.legend()
    return png_bytes(fig)


def _pairs_png(numbers: dict) -> bytes:
    fig, ax = _figure(5, 4.2)
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
    fig, ax = _figure()
    edges = np.asarray(histogram["edges"])
    ax.bar(edges[:-1], histogram["counts"], width=np.diff(edges), align="edge", edgecolor="white")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return png_bytes(fig)


def _cmc_png(cmc: list[float]) -> bytes:
    fig, ax = _figure()
    ax.plot(range(1, len(cmc) + 1), [100 * v for v in cmc], marker=".")
    ax.set(title="CMC", xlabel="rank", ylabel="matching rate (%)", ylim=(0, 100))
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def _distances_png(distances: dict, metric: str) -> bytes:
    fig, ax = _figure()
    edges = np.asarray(distances["edges"])
    for key, colour, label in (("true_matches", "tab:green", "true matches"), ("impostors", "tab:red", "impostors")):
        counts = np.asarray(distances[key], dtype=float)
        ax.stairs(counts / max(counts.sum(), 1), edges, color=colour, fill=True, alpha=0.4, label=label)
    ax.set(title=f"Distances ({metric}); overlap {100 * distances['overlap']:.1f} %", xlabel="distance", ylabel="fraction")
    ax.legend()
    return png_bytes(fig)
