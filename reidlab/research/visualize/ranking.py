"""Rank a run's test set again with its best model, keeping what the pictures need and nothing dense.

Distances (re-ranked when TEST.RERANK is on) are computed one block of queries at a time (as evaluation does): each block gives
its per-query results, its top-K gallery images, the distances of true matches and a histogram
of impostors, and the same per gallery camera. The per-query results are evaluation's own, so
the mAP agrees with the run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from reidlab.config import Config
from reidlab.data import build_test_data
from reidlab.data.build import TestData
from reidlab.engine.amp import AmpSettings
from reidlab.engine.distributed import start_processes
from reidlab.engine.inference import check_finite, model_features, ranking_features
from reidlab.errors import UserError
from reidlab.evaluation import PerQueryResult, iter_distance_chunks, iter_reranked_rows
from reidlab.evaluation.rank import PerQueryCollector
from reidlab.evaluation.rank_pictures import nearest
from reidlab.modeling.loading import LoadedNetwork, load_network
from reidlab.rundir import CONFIG_FILE, EVAL_METRICS_FILE, read_json

HISTOGRAM_BINS = 60
_BLOCK_ROWS = 256


class VisualizeError(UserError):
    """Nothing to draw: no evaluated model in the folder, test images that moved, K larger than the gallery. One line."""


@dataclass
class Ranking:
    """The test set ranked by the model: per-query results, top-K lists, and distance statistics."""

    test_set: TestData
    metric: str
    per_query: PerQueryResult
    top_index: np.ndarray  # (Q, K) gallery positions, nearest first
    top_distance: np.ndarray  # (Q, K)
    true_distances: np.ndarray  # every true match's distance (same identity, another camera)
    impostor_counts: np.ndarray  # histogram of impostor distances over `edges`
    edges: np.ndarray
    per_gallery_camera: dict[int, PerQueryResult] = field(default_factory=dict)  # the gallery restricted to one camera


def load_for_visualize(folder: Path) -> LoadedNetwork:
    """The network behind a run folder (its best model) or an eval folder (the checkpoint it evaluated, with its config)."""
    record, _ = read_json(folder / EVAL_METRICS_FILE) if (folder / EVAL_METRICS_FILE).is_file() else (None, None)
    if isinstance(record, dict) and isinstance(record.get("checkpoint"), str):
        return load_network(record["checkpoint"], folder / CONFIG_FILE)
    try:
        return load_network(folder)
    except UserError as exc:
        raise VisualizeError(f"{folder}: no evaluated model to visualize ({exc})") from None


def rank_test_set(loaded: LoadedNetwork, cfg: Config, top_k: int) -> Ranking:
    """Features of the config's first test set, then block-by-block ranking."""
    test_set = build_test_data(cfg)[0]
    if top_k > test_set.num_gallery:
        raise VisualizeError(f"--top {top_k}: the gallery of {test_set.name} has only {test_set.num_gallery} images; choose --top {test_set.num_gallery} or fewer")
    missing = next((p for p in test_set.paths if not Path(p).is_file()), None)
    if missing is not None:
        raise VisualizeError(f"{missing}: a test image of the run is missing (the images moved?); point DATASETS.ROOT at them")
    processes, device = start_processes(cfg.MODEL.DEVICE)
    try:
        network = loaded.network.to(device)
        features = check_finite(model_features(network, test_set.loader, device, AmpSettings.for_device(cfg.SOLVER.AMP.ENABLED, device), cfg.TEST.FLIP.ENABLED), test_set.name)
    finally:
        processes.shutdown()
    query, gallery = ranking_features(cfg, features, test_set.num_query)
    metric, rerank = cfg.TEST.METRIC, cfg.TEST.RERANK
    if rerank.ENABLED:  # as evaluation does: streamed k-reciprocal re-ranking, sparse neighbour lists
        blocks = iter_reranked_rows(query, gallery, metric, rerank.K1, rerank.K2, rerank.LAMBDA, block_rows=_BLOCK_ROWS)
        return _rank(test_set, blocks, f"{metric}, re-ranked", top_k)
    return _rank(test_set, iter_distance_chunks(query, gallery, metric, _BLOCK_ROWS), metric, top_k)


def _rank(test_set: TestData, blocks: Iterator[torch.Tensor], metric: str, top_k: int) -> Ranking:
    q = test_set.num_query
    q_pids, g_pids = torch.as_tensor(test_set.pids[:q]), torch.as_tensor(test_set.pids[q:])
    q_cams, g_cams = torch.as_tensor(test_set.camids[:q]), torch.as_tensor(test_set.camids[q:])
    edges = np.linspace(0.0, 2.0, HISTOGRAM_BINS + 1) if metric == "cosine" else None  # euclidean: set by the first block
    counts = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
    collector = PerQueryCollector(q_pids.numpy(), q_cams.numpy(), g_pids.numpy(), g_cams.numpy(), torch.device("cpu"))
    cameras = sorted(set(g_cams.tolist()))
    per_camera = {c: PerQueryCollector(q_pids.numpy(), q_cams.numpy(), g_pids[g_cams == c].numpy(), g_cams[g_cams == c].numpy(), torch.device("cpu")) for c in cameras}
    tops, top_distances, true_distances = [], [], []
    start = 0
    for rows in blocks:
        rows = rows.float().cpu()
        block = slice(start, start + rows.shape[0])
        start += rows.shape[0]
        collector.add(rows)
        for camera, camera_collector in per_camera.items():
            camera_collector.add(rows[:, g_cams == camera])
        index, distance = nearest(rows, top_k)
        tops.append(index)
        top_distances.append(distance)
        same_id = q_pids[block, None] == g_pids[None, :]
        same_camera = q_cams[block, None] == g_cams[None, :]
        true_distances.append(rows[same_id & ~same_camera].numpy())
        impostors = rows[~same_id].numpy()
        if edges is None:
            edges = np.linspace(0.0, max(float(rows.max()), 1e-6) * 1.5, HISTOGRAM_BINS + 1)
        counts += np.histogram(np.clip(impostors, edges[0], edges[-1]), edges)[0]
    return Ranking(
        test_set, metric, collector.result(), np.concatenate(tops), np.concatenate(top_distances), np.concatenate(true_distances),
        counts, edges, {c: col.result() for c, col in per_camera.items()},
    )
