"""Straightforward reference implementations the fast code is checked against.

* ``reference_evaluate_rank``: the per-query Market-1501 algorithm of fast-reid/torchreid
  (``eval_market1501``), argsort every row, filter, cumsum; with a *stable* argsort, so
  ties follow the documented rule (gallery index order).
* ``reference_re_ranking``: the standard k-reciprocal re-ranking loop (Zhong et al. 2017,
  the authors' distance-matrix version used by torchreid), with a stable argsort.

Deliberately slow and literal: one Python iteration per query / per image.
"""

from __future__ import annotations

import numpy as np


def reference_evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """(cmc float32[max_rank], AP list, INP list) for valid queries, the peers' way.

    Differs from the peers only where they are broken: a gallery shorter than ``max_rank``
    pads each query's CMC with its last value instead of crashing.
    """
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    order_all = np.argsort(distmat, axis=1, kind="stable")
    curves, aps, inps = [], [], []
    for q in range(distmat.shape[0]):
        order = order_all[q]
        junk = (g_pids[order] == q_pids[q]) & (g_camids[order] == q_camids[q])
        hits = (g_pids[order] == q_pids[q])[~junk].astype(np.int32)
        if not hits.any():
            continue
        cum = hits.cumsum()
        last = np.flatnonzero(hits).max()
        inps.append(cum[last] / (last + 1.0))
        curve = np.minimum(cum, 1)[:max_rank]
        if len(curve) < max_rank:
            curve = np.concatenate([curve, np.full(max_rank - len(curve), curve[-1])])
        curves.append(curve)
        precision = np.asarray([c / (i + 1.0) for i, c in enumerate(cum)]) * hits
        aps.append(precision.sum() / hits.sum())
    assert curves, "no valid query"
    cmc = np.asarray(curves).astype(np.float32).sum(0) / float(len(curves))
    return cmc, aps, inps


def reference_re_ranking(q_g_dist, q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3):
    """The standard k-reciprocal re-ranking, as a literal loop over images."""
    original = np.concatenate(
        [np.concatenate([q_q_dist, q_g_dist], axis=1), np.concatenate([q_g_dist.T, g_g_dist], axis=1)], axis=0
    )
    original = np.power(original, 2).astype(np.float32)
    original = np.transpose(1.0 * original / np.max(original, axis=0))
    V = np.zeros_like(original).astype(np.float32)
    initial_rank = np.argsort(original, axis=1, kind="stable").astype(np.int32)
    num_q = q_g_dist.shape[0]
    num_all = original.shape[0]
    half = int(np.around(k1 / 2.0))

    def k_reciprocal(i, k):
        forward = initial_rank[i, : k + 1]
        backward = initial_rank[forward, : k + 1]
        return forward[np.where(backward == i)[0]]

    for i in range(num_all):
        recip = k_reciprocal(i, k1)
        expansion = recip
        for candidate in recip:
            cand_recip = k_reciprocal(candidate, half)
            if len(np.intersect1d(cand_recip, recip)) > 2.0 / 3 * len(cand_recip):
                expansion = np.append(expansion, cand_recip)
        expansion = np.unique(expansion)
        weight = np.exp(-original[i, expansion])
        V[i, expansion] = 1.0 * weight / np.sum(weight)
    original = original[:num_q]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=np.float32)
        for i in range(num_all):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
    inverted = [np.where(V[:, j] != 0)[0] for j in range(num_all)]
    jaccard = np.zeros_like(original, dtype=np.float32)
    for i in range(num_q):
        shared = np.zeros((1, num_all), dtype=np.float32)
        nonzero = np.where(V[i, :] != 0)[0]
        for k in nonzero:
            rows = inverted[k]
            shared[0, rows] = shared[0, rows] + np.minimum(V[i, k], V[rows, k])
        jaccard[i] = 1 - shared / (2.0 - shared)
    final = jaccard * (1 - lambda_value) + original * lambda_value
    return final[:num_q, num_q:]
