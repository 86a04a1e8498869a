"""The sparse steps of k-reciprocal re-ranking, shared by the dense entry point (rerank.py, from distance
matrices) and the streaming one (rerank_streaming.py, from features): stable k-nearest lists, reciprocity,
the encoding V as CSR, local query expansion, and the Jaccard distance to the gallery in query blocks."""

from __future__ import annotations

from typing import Callable, Iterator

import torch

ROW_BLOCK = 1024  # rows per batch in the per-row steps
_PAIR_BUDGET = 1 << 21  # (query, gallery, shared column) triples per Jaccard batch


def smallest_k_stable(dist: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k smallest entries of each row, ordered as a stable argsort would
    (by value, then by index): ``argsort(row, stable)[:k]`` without sorting whole rows."""
    num_rows, num_cols = dist.shape
    out = torch.empty(num_rows, k, dtype=torch.int64)
    take = min(k + 1, num_cols)  # one extra, to see whether a tie straddles the cut
    for start in range(0, num_rows, ROW_BLOCK):
        rows = dist[start : start + ROW_BLOCK]
        values, index = torch.topk(rows, take, dim=1, largest=False, sorted=True)
        index, _ = torch.sort(index[:, :k], dim=1)
        order = torch.sort(rows.gather(1, index), dim=1, stable=True).indices
        block = index.gather(1, order)
        if take > k:
            straddle = (values[:, k - 1] == values[:, k]).nonzero().flatten()
            if straddle.numel():
                block[straddle] = torch.sort(rows[straddle], dim=1, stable=True).indices[:, :k]
        out[start : start + rows.shape[0]] = block
    return out


def is_reciprocal(forward: torch.Tensor) -> torch.Tensor:
    """(N, k) bool: ``forward[i, j]`` also has i among its own first k neighbours."""
    num, k = forward.shape
    out = torch.empty(num, k, dtype=torch.bool)
    for start in range(0, num, ROW_BLOCK):
        block = forward[start : start + ROW_BLOCK]
        me = torch.arange(start, start + block.shape[0])[:, None, None]
        out[start : start + block.shape[0]] = (forward[block] == me).any(dim=2)
    return out


class Csr:
    """Row-compressed sparse matrix (N x N float32), built from per-row (column, value) lists."""

    def __init__(self, indptr: torch.Tensor, indices: torch.Tensor, values: torch.Tensor) -> None:
        self.indptr, self.indices, self.values = indptr, indices, values

    @classmethod
    def from_blocks(cls, blocks: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], num_rows: int) -> "Csr":
        rows = torch.cat([b[0] for b in blocks])
        counts = torch.bincount(rows, minlength=num_rows)
        indptr = torch.zeros(num_rows + 1, dtype=torch.int64)
        indptr[1:] = counts.cumsum(0)
        return cls(indptr, torch.cat([b[1] for b in blocks]), torch.cat([b[2] for b in blocks]))

    def row_segments(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For the given rows: (which of ``rows`` each stored entry belongs to, entry position)."""
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        owner = torch.repeat_interleave(torch.arange(len(rows)), lengths)
        offsets = torch.arange(int(lengths.sum())) - (lengths.cumsum(0) - lengths)[owner]
        return owner, starts[owner] + offsets


def encode(
    distance_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    forward: torch.Tensor,
    reciprocal: torch.Tensor,
    forward_half: torch.Tensor,
    reciprocal_half: torch.Tensor,
) -> Csr:
    """The k-reciprocal feature V: on each row's expanded k-reciprocal set R*, weights
    exp(-d) normalised to sum 1 (a Gaussian kernel of the distance); zero elsewhere.
    `distance_of(rows, cols)` gives the normalised distances of those pairs."""
    num = forward.shape[0]
    blocks = []
    half_size = reciprocal_half.sum(1).double()
    for start in range(0, num, ROW_BLOCK):
        stop = min(start + ROW_BLOCK, num)
        fwd, rec = forward[start:stop], reciprocal[start:stop]
        # Candidate c = fwd[i, j] joins when more than 2/3 of its own half-size reciprocal set
        # lies in i's reciprocal set.
        cand_set = forward_half[fwd]  # (B, K, H)
        cand_rec = reciprocal_half[fwd]  # (B, K, H)
        in_set = (cand_set[:, :, :, None] == fwd[:, None, None, :]) & rec[:, None, None, :]
        shared = (in_set.any(dim=3) & cand_rec).sum(dim=2).double()
        joins = rec & (shared > 2.0 / 3 * half_size[fwd])

        member = torch.zeros(stop - start, num + 1, dtype=torch.bool)  # column num: discarded
        member.scatter_(1, torch.where(rec, fwd, num), True)
        expanded = torch.where(joins[:, :, None] & cand_rec, cand_set, num)
        member.scatter_(1, expanded.flatten(1), True)
        rows, cols = member[:, :num].nonzero(as_tuple=True)
        weight = torch.exp(-distance_of(start + rows, cols))
        total = torch.zeros(stop - start, dtype=torch.float32).index_add_(0, rows, weight)
        blocks.append((rows + start, cols, weight / total[rows]))
    return Csr.from_blocks(blocks, num)


def query_expansion(encoding: Csr, neighbours: torch.Tensor, num: int, block: int = ROW_BLOCK) -> Csr:
    """Local query expansion: each row of V becomes the mean of its k2 nearest rows' V."""
    k2 = neighbours.shape[1]
    blocks = []
    for start in range(0, num, block):
        stop = min(start + block, num)
        acc = torch.zeros((stop - start) * num, dtype=torch.float32)
        for r in range(k2):  # summed in neighbour order, as the reference's mean over rows
            owner, entry = encoding.row_segments(neighbours[start:stop, r])
            acc.index_add_(0, owner * num + encoding.indices[entry], encoding.values[entry])
        dense = acc.view(stop - start, num) / k2
        rows, cols = dense.nonzero(as_tuple=True)
        blocks.append((rows + start, cols, dense[rows, cols]))
    return Csr.from_blocks(blocks, num)


def jaccard_blocks(encoding: Csr, num_q: int, num: int) -> Iterator[tuple[int, int, torch.Tensor]]:
    """(start, stop, rows start:stop of the (num_q, num_gallery) Jaccard distance 1 - S / (2 - S)),
    S = sum_k min(V_q[k], V_g[k]), accumulated over an inverted index (column -> gallery rows), in bounded batches."""
    num_g = num - num_q
    # Inverted index over the gallery rows: entries sorted by column, rows ascending within.
    g_start = int(encoding.indptr[num_q])
    g_rows = torch.repeat_interleave(torch.arange(num_q, num), encoding.indptr[num_q + 1 :] - encoding.indptr[num_q:-1])
    g_cols, g_vals = encoding.indices[g_start:], encoding.values[g_start:]
    by_col = torch.sort(g_cols, stable=True).indices
    inv_rows, inv_vals = g_rows[by_col] - num_q, g_vals[by_col]
    col_count = torch.bincount(g_cols, minlength=num)
    col_ptr = torch.zeros(num + 1, dtype=torch.int64)
    col_ptr[1:] = col_count.cumsum(0)

    # Work per query = total length of the inverted lists of its nonzero columns.
    q_entries = encoding.indices[: int(encoding.indptr[num_q])]
    q_owner = torch.repeat_interleave(torch.arange(num_q), encoding.indptr[1 : num_q + 1] - encoding.indptr[:num_q])
    work = torch.zeros(num_q, dtype=torch.int64).index_add_(0, q_owner, col_count[q_entries])

    start = 0
    cumulative = work.cumsum(0)
    while start < num_q:
        done = int(cumulative[start - 1]) if start else 0
        stop = max(start + 1, int(torch.searchsorted(cumulative, done + _PAIR_BUDGET, right=True)))
        stop = min(stop, num_q)
        lo, hi = int(encoding.indptr[start]), int(encoding.indptr[stop])
        q_row = q_owner[lo:hi] - start
        q_col, q_val = encoding.indices[lo:hi], encoding.values[lo:hi]
        # Expand each (query, column) entry over the gallery rows that share the column.
        lengths = col_count[q_col]
        src = torch.repeat_interleave(torch.arange(hi - lo), lengths)
        offsets = torch.arange(int(lengths.sum())) - (lengths.cumsum(0) - lengths)[src]
        entry = col_ptr[q_col][src] + offsets
        shared = torch.minimum(q_val[src], inv_vals[entry])
        acc = torch.zeros((stop - start) * num_g, dtype=torch.float32)
        acc.index_add_(0, q_row[src] * num_g + inv_rows[entry], shared)
        acc = acc.view(stop - start, num_g)
        yield start, stop, 1 - acc / (2.0 - acc)
        start = stop
