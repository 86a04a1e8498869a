"""The numbers of breakdowns.json: research/breakdowns' per-query ones, plus what only a ranking
gives (mAP per camera pair, the distances of true matches and impostors)."""

from __future__ import annotations

import numpy as np

from reidlab.research.breakdowns import camera_summary, histogram_overlap, per_query_numbers
from reidlab.research.visualize.ranking import Ranking


def breakdowns(ranking: Ranking) -> dict:
    """Every number the plots show, for breakdowns.json."""
    true_counts, _ = np.histogram(np.clip(ranking.true_distances, ranking.edges[0], ranking.edges[-1]), ranking.edges)
    pairs = {
        f"{query_camera}->{gallery_camera}": numbers
        for gallery_camera, restricted in ranking.per_gallery_camera.items()
        for query_camera, numbers in camera_summary(restricted).items()
    }
    return {
        "test_set": ranking.test_set.name,
        "metric": ranking.metric,
        **per_query_numbers(ranking.per_query),
        "per_camera_pair": pairs,
        "distances": {
            "edges": ranking.edges.tolist(),
            "true_matches": true_counts.tolist(),
            "impostors": ranking.impostor_counts.tolist(),
            "overlap": histogram_overlap(true_counts, ranking.impostor_counts),
        },
    }
