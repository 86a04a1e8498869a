"""The worst-query sheet: lowest AP first, each rank list the true nearest gallery images, frames by ground truth."""

import numpy as np
import torch
from PIL import Image

from reidlab.evaluation import evaluate_features
from reidlab.evaluation.rank_pictures import FRAME, GAP, HEADER_H, TEXT_H, TILE_H, TILE_W, TRUE_MATCH, WRONG, nearest, worst_queries, worst_query_sheet


def _images(tmp_path, count):
    paths = []
    for i in range(count):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (32, 64), (i * 7 % 255, 90, 160)).save(path)
        paths.append(path)
    return paths


def test_worst_queries_are_lowest_ap_first_and_skip_invalid_queries():
    query = torch.tensor([[1.0, 0.0], [1.0, 0.05], [1.0, 1.0]])  # query 1 (identity 1) is nearest identity 0's image
    gallery = torch.tensor([[1.0, 0.1], [0.1, 1.0], [-1.0, 0.0]])
    result = evaluate_features(query, gallery, np.array([0, 1, 7]), np.array([0, 1, 5]), np.array([0, 0, 0]), np.array([1, 1, 1]))
    assert worst_queries(result.per_query) == [1, 0]  # AP 0.5, then 1.0; identity 7 is not in the gallery, so query 2 has no AP


def test_sheet_frames_each_query_s_true_nearest_images(tmp_path):
    rng = np.random.default_rng(0)
    query, gallery = torch.from_numpy(rng.normal(size=(4, 8))).float(), torch.from_numpy(rng.normal(size=(6, 8))).float()
    pids, cams = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]), np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    result = evaluate_features(query, gallery, pids[:4], pids[4:], cams[:4], cams[4:], metric="euclidean")
    sheet = worst_query_sheet(result.per_query, query, gallery, "euclidean", _images(tmp_path, 10), pids, cams, count=2, top_k=3)
    grid_height = HEADER_H + TILE_H + 2 * FRAME + TEXT_H + 2 * GAP
    assert sheet.height == 2 * grid_height
    worst = worst_queries(result.per_query)[0]
    index, _ = nearest(torch.cdist(query[worst : worst + 1], gallery), 3)
    first = int(index[0, 0])
    expected = TRUE_MATCH if pids[4 + first] == pids[worst] else WRONG
    left = GAP + (TILE_W + 2 * FRAME + GAP)  # the rank-1 tile of the first (worst) row
    assert sheet.getpixel((left + 1, HEADER_H + GAP + 1)) == expected
