"""Rank of every valid match of each query, without sorting the gallery.

Peers (fast-reid, torchreid) argsort every row of the distance matrix, which is most of
their cost. The metrics only need the 1-based rank of each *match* in the query's
filtered list (gallery entries with the query's pid and camera removed):

    rank(match s) = s + 1 + #{kept non-matches ordered before match s}

where s is the match's position among the query's matches sorted by distance. For each
query we sort its few matches, then ``torch.searchsorted`` each gallery distance into
them: the result says how many matches precede that entry, and a per-query histogram of
those results, cumulated, gives the count above.

Only entries no farther than the query's farthest match can precede a match. The gallery
is cut into blocks of ``BLOCK`` columns; one cheap pass takes each block's minimum, and
only blocks whose minimum is within the query's farthest-match distance are searched
(about 15% of the benchmark's Market-sized matrix at mAP 0.87; all of it, at worst, for
a random model). Candidate blocks are gathered through a sliding-window view (one flat offset per
block) in batches of at most ``MAX_BATCH_ENTRIES`` entries, so memory stays bounded
whatever the model quality. Same-pid entries (the matches themselves and same-camera
junk) are flagged in a reusable boolean mask gathered the same way.

Tie rule (the same as a *stable* argsort of each row): entries at equal distance are
ordered by gallery index. Ties between a match and a non-match are rare; they are
detected cheaply and, only in batches where they occur, resolved exactly with a second
search on (distance group, gallery index) keys.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

#: Columns per gallery block in the pruning pass.
BLOCK = 32
#: Most candidate entries searched at once (bounds the scratch memory).
MAX_BATCH_ENTRIES = 1 << 18

_INT64_MAX = torch.iinfo(torch.int64).max


class GalleryIdentityIndex:
    """Gallery labels grouped by pid, to list each query's same-pid gallery entries quickly."""

    def __init__(self, g_pids: np.ndarray, g_camids: np.ndarray, device: torch.device) -> None:
        self.pids = torch.as_tensor(g_pids, dtype=torch.int64, device=device)
        self.camids = torch.as_tensor(g_camids, dtype=torch.int64, device=device)
        self.size = int(self.pids.numel())
        # Stable, so entries of one pid stay in ascending gallery index (needed by the tie rule).
        self.order = torch.argsort(self.pids, stable=True)
        self.sorted_pids = self.pids[self.order]

    def same_pid_slots(self, q_pids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (gallery indices, slot is real) of shape (num_queries, widest group).

        Row i lists the gallery entries whose pid equals ``q_pids[i]`` in ascending index
        order, padded (with index 0, flagged False) to the widest group in the batch.
        """
        start = torch.searchsorted(self.sorted_pids, q_pids)
        stop = torch.searchsorted(self.sorted_pids, q_pids, right=True)
        counts = stop - start
        width = int(counts.max()) if counts.numel() else 0
        slots = torch.arange(width, device=q_pids.device)
        real = slots[None, :] < counts[:, None]
        position = torch.where(real, start[:, None] + slots[None, :], torch.zeros_like(real, dtype=torch.int64))
        return self.order[position], real


class _SortedMatches:
    """One chunk's valid matches per query, sorted by (distance, gallery index)."""

    def __init__(self, dist: torch.Tensor, q_pids: torch.Tensor, q_camids: torch.Tensor, gallery: GalleryIdentityIndex):
        rows = dist.shape[0]
        gidx, real = gallery.same_pid_slots(q_pids)
        slot_row, slot = real.nonzero(as_tuple=True)
        #: (row, gallery index) of every same-pid entry: the matches and same-camera junk.
        self.same_pid = (slot_row, gidx[slot_row, slot])
        is_match = real & (gallery.camids[gidx] != q_camids[:, None])
        self.count = is_match.sum(1)
        self.most = int(self.count.max()) if rows else 0
        inf = torch.tensor(float("inf"), dtype=dist.dtype, device=dist.device)
        match_dist = torch.where(is_match, dist.gather(1, gidx), inf)
        sorted_dist, perm = torch.sort(match_dist, dim=1, stable=True)
        # ``dist_seq`` ends with at least one +inf, so a search result always indexes it.
        self.dist_seq = torch.full((rows, self.most + 1), float("inf"), dtype=dist.dtype, device=dist.device)
        self.dist_seq[:, : self.most] = sorted_dist[:, : self.most]
        self.gallery_index = gidx.gather(1, perm[:, : self.most])
        self._key_seq: torch.Tensor | None = None

    @property
    def farthest(self) -> torch.Tensor:
        """(B,) distance of each query's farthest match; -inf for a query without matches."""
        last = self.dist_seq.gather(1, (self.count - 1).clamp(min=0)[:, None])[:, 0]
        return torch.where(self.count > 0, last, torch.full_like(last, float("-inf")))

    def key_seq(self, num_gallery: int) -> torch.Tensor:
        """Sorted int64 keys ``group * (G + 1) + gallery index`` of the matches (then
        int64-max pads), where group = number of matches strictly closer. Keys of a tied
        non-match built the same way fall exactly where the tie rule puts it."""
        if self._key_seq is None:
            rows, most = self.gallery_index.shape
            group = torch.searchsorted(self.dist_seq, self.dist_seq[:, :most].contiguous())
            real = torch.arange(most, device=group.device)[None, :] < self.count[:, None]
            keys = torch.where(real, group * (num_gallery + 1) + self.gallery_index, _INT64_MAX)
            pad = torch.full((rows, 1), _INT64_MAX, dtype=torch.int64, device=group.device)
            self._key_seq = torch.cat([keys, pad], dim=1)
        return self._key_seq


class MatchRanker:
    """Computes, chunk of queries by chunk, the ranks of each query's valid matches."""

    def __init__(self, g_pids: np.ndarray, g_camids: np.ndarray, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.gallery = GalleryIdentityIndex(g_pids, g_camids, self.device)
        # (rows, G) flags of same-pid entries, all False between calls; kept to avoid reallocating.
        self._left_out = torch.zeros(0, dtype=torch.bool, device=self.device)
        self._scratch = _Scratch(self.device)

    def ranks(
        self, dist: torch.Tensor, q_pids: torch.Tensor, q_camids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Ranks of the matches of a chunk of queries.

        Args:
            dist: (B, G) finite distances, contiguous, float32 or float64, on ``self.device``.
            q_pids, q_camids: (B,) int64 labels of the chunk's queries.

        Returns:
            ranks: (B, M) int64; ``ranks[i, s]`` is the 1-based rank of query i's (s+1)-th
                closest valid match in its filtered list; 0 where ``s >= num_matches[i]``.
            num_matches: (B,) int64, the number of valid matches of each query
                (same pid, different camera); 0 means the query is not valid.
        """
        rows, cols = dist.shape
        matches = _SortedMatches(dist, q_pids, q_camids, self.gallery)
        if matches.most == 0:
            return torch.zeros(rows, 0, dtype=torch.int64, device=dist.device), matches.count

        # Same-pid entries (the matches themselves, same-camera junk) are left out of the counts.
        if self._left_out.numel() < rows * cols:
            self._left_out = torch.zeros(rows * cols, dtype=torch.bool, device=self.device)
        same_pid = matches.same_pid[0] * cols + matches.same_pid[1]
        left_out = self._left_out[: rows * cols]
        left_out[same_pid] = True
        try:
            counts = self._count_preceding(dist, left_out.view(rows, cols), matches)
        finally:
            left_out[same_pid] = False

        before = counts[:, : matches.most].cumsum(1)
        ordinal = torch.arange(1, matches.most + 1, device=dist.device)
        ranks = before + ordinal[None, :]
        ranks.masked_fill_(ordinal[None, :] > matches.count[:, None], 0)
        return ranks, matches.count

    def _count_preceding(self, dist: torch.Tensor, left_out: torch.Tensor, matches: _SortedMatches) -> torch.Tensor:
        """(B, M + 2) histogram; for s < num_matches[i], ``[i, s]`` is the number of kept
        non-matches of query i that exactly s of its matches precede (the last column
        collects left-out entries)."""
        rows, cols = dist.shape
        bins = matches.most + 2
        counts = torch.zeros(rows * bins, dtype=torch.int64, device=dist.device)
        for batch in _candidate_batches(dist, left_out, matches, self._scratch):
            position = self._positions(batch, matches)
            position += batch.row[:, None] * bins
            counts += torch.bincount(position.view(-1), minlength=rows * bins)
        return counts.view(rows, bins)

    def _positions(self, batch: "_Batch", matches: _SortedMatches) -> torch.Tensor:
        """For a batch of candidate entries (K, W): how many of their query's matches precede
        each one (tie rule included); ``matches.most + 1`` for left-out entries."""
        row, values, left_out = batch.row, batch.values, batch.left_out
        shape = values.shape
        seq = torch.index_select(
            matches.dist_seq, 0, row, out=self._scratch.get("seq", (shape[0], matches.most + 1), values.dtype)
        )
        position = torch.searchsorted(seq, values, out=self._scratch.get("position", shape, torch.int64))
        nearest = torch.gather(seq, 1, position, out=self._scratch.get("nearest", shape, values.dtype))
        tie = torch.eq(values, nearest, out=self._scratch.get("tie", shape, torch.bool)).masked_fill_(left_out, False)
        if bool(tie.any()):
            keys = position * (self.gallery.size + 1) + batch.columns()
            tied = torch.searchsorted(matches.key_seq(self.gallery.size).index_select(0, row), keys)
            position.copy_(torch.where(tie, tied, position))
        return position.masked_fill_(left_out, matches.most + 1)


class _Scratch:
    """Reusable flat buffers handing out views of any shape: allocating fresh multi-megabyte
    tensors for every batch costs more in page faults than the arithmetic on them."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        size = 1
        for dim in shape:
            size *= dim
        buffer = self._buffers.get(name)
        if buffer is None or buffer.dtype != dtype or buffer.numel() < size:
            buffer = torch.empty(size, dtype=dtype, device=self.device)
            self._buffers[name] = buffer
        return buffer[:size].view(shape)


class _Batch:
    """Candidate entries of some queries: ``values``/``left_out`` are (K, W), ``row`` (K,)
    the chunk row of each line, whose gallery columns start at ``first`` (K,)."""

    def __init__(self, row: torch.Tensor, first: torch.Tensor, values: torch.Tensor, left_out: torch.Tensor) -> None:
        self.row, self.first, self.values, self.left_out = row, first, values, left_out

    def columns(self) -> torch.Tensor:
        """(K, W) gallery column of each entry (only needed to break ties)."""
        offsets = torch.arange(self.values.shape[1], device=self.first.device)
        return self.first[:, None] + offsets[None, :]


def _candidate_batches(
    dist: torch.Tensor, left_out: torch.Tensor, matches: _SortedMatches, scratch: _Scratch
) -> Iterator[_Batch]:
    """Batches covering every entry of ``dist`` no farther than its row's farthest match
    (whole candidate blocks, so some farther entries too), then the last partial block."""
    rows, cols = dist.shape
    num_blocks = cols // BLOCK
    if num_blocks:
        blocks = dist[:, : num_blocks * BLOCK].unflatten(1, (num_blocks, BLOCK))
        row, block = (blocks.amin(dim=2) <= matches.farthest[:, None]).nonzero(as_tuple=True)
        # Each candidate block is BLOCK consecutive elements: gather them as rows of a
        # sliding-window view with one flat offset each (much faster than 2-D indexing).
        dist_windows = _windows(dist, BLOCK)
        left_out_windows = _windows(left_out, BLOCK)
        # Bound both the gathered entries and the per-line copies of the match distances.
        step = max(1, MAX_BATCH_ENTRIES // max(BLOCK, matches.most + 1))
        for start in range(0, row.numel(), step):
            r, first = row[start : start + step], block[start : start + step] * BLOCK
            offset = r * cols + first
            shape = (r.numel(), BLOCK)
            values = torch.index_select(dist_windows, 0, offset, out=scratch.get("values", shape, dist.dtype))
            flags = torch.index_select(left_out_windows, 0, offset, out=scratch.get("left_out", shape, torch.bool))
            yield _Batch(r, first, values, flags)
    tail = num_blocks * BLOCK
    if tail < cols:  # the last, partial block: every row
        row = torch.arange(rows, device=dist.device)
        first = torch.full((rows,), tail, dtype=torch.int64, device=dist.device)
        yield _Batch(row, first, dist[:, tail:].contiguous(), left_out[:, tail:].contiguous())


def _windows(matrix: torch.Tensor, width: int) -> torch.Tensor:
    """Overlapping view whose row k is ``matrix.flatten()[k : k + width]`` (no copy)."""
    flat = matrix.reshape(-1)
    return flat.as_strided((flat.numel() - width + 1, width), (1, 1))
