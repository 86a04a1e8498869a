"""Speed and memory of reidlab.evaluation on a Market-1501-sized synthetic case.

    python benchmarks/eval_speed.py [--repeats 3] [--reference-queries 300 | --full-reference] [--threads N]

The case: 3368 queries, 15913 gallery entries (751 identities, 2793 distractors with pid 0,
1500 junk entries with pid -1), 6 cameras, 2048-d features clustered by identity with a
per-camera offset (seeded; noise set so mAP is Market-like, about 0.9).

Measured:
  (a) distance matrix -> metrics: ``evaluate_rank`` on the precomputed float32 matrix.
  (b) features -> metrics: ``evaluate_features`` (cosine), distances computed chunk by chunk.
  reference: the per-query Python algorithm of fast-reid/torchreid (tests/evaluation/
      evaluation_reference.py), timed on the first --reference-queries queries and
      extrapolated linearly to all queries (it is linear in the number of queries), unless
      --full-reference. Its results are compared with ours on the queries it ran.

Time: wall clock (time.perf_counter), best and median of --repeats runs, with the process
CPU time of the best run (CPU > wall: both cores busy; CPU < wall: waiting, e.g. for other
processes on a shared machine).
Memory: peak resident memory (RSS) during the step minus RSS just before it, i.e. what the
step needed on top of its inputs. Linux only: the kernel's high-water mark (VmHWM) is reset
through /proc/self/clear_refs before the step; glibc is asked to return freed memory first
(malloc_trim) so reused free pages do not hide allocations.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "evaluation"))

from evaluation_reference import reference_evaluate_rank  # noqa: E402

from reidlab.evaluation import compute_distance, evaluate_features, evaluate_rank  # noqa: E402

NUM_QUERY, NUM_GALLERY, NUM_IDS, NUM_CAMS = 3368, 15913, 751, 6
NUM_DISTRACTORS, NUM_JUNK, DIM = 2793, 1500, 2048
FAST_REID_CYTHON_SECONDS = 3.2  # fast-reid's Cython evaluator on (a), this 2-core machine


def make_case(seed: int = 0, noise: float = 2.75):
    """Seeded Market-sized labels and features clustered by identity."""
    rng = np.random.default_rng(seed)
    num_id_gallery = NUM_GALLERY - NUM_DISTRACTORS - NUM_JUNK
    ids = np.arange(1, NUM_IDS + 1)
    q_pids = np.concatenate([ids, rng.integers(1, NUM_IDS + 1, NUM_QUERY - NUM_IDS)])
    g_pids = np.concatenate(
        [
            ids,
            rng.integers(1, NUM_IDS + 1, num_id_gallery - NUM_IDS),
            np.zeros(NUM_DISTRACTORS, dtype=np.int64),
            -np.ones(NUM_JUNK, dtype=np.int64),
        ]
    )
    q_cams = rng.integers(0, NUM_CAMS, NUM_QUERY)
    g_cams = rng.integers(0, NUM_CAMS, NUM_GALLERY)
    centers = rng.standard_normal((NUM_IDS + 1, DIM), dtype=np.float32)
    cam_offset = 0.5 * rng.standard_normal((NUM_CAMS, DIM), dtype=np.float32)

    def features(pids: np.ndarray, cams: np.ndarray) -> torch.Tensor:
        base = centers[np.clip(pids, 0, None)]
        unknown = pids <= 0  # distractors and junk: each its own random direction
        base[unknown] = rng.standard_normal((int(unknown.sum()), DIM), dtype=np.float32)
        base += cam_offset[cams]
        base += noise * rng.standard_normal(base.shape, dtype=np.float32)
        return torch.from_numpy(base)

    return features(q_pids, q_cams), features(g_pids, g_cams), q_pids, g_pids, q_cams, g_cams


class PeakRss:
    """Peak RSS during a ``with`` block minus RSS at its start, in MB (None where unsupported)."""

    def __enter__(self) -> "PeakRss":
        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
        self.mb: float | None = None
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._start = _proc_status_kb("VmRSS")
        except OSError:
            self._start = None
        return self

    def __exit__(self, *exc) -> None:
        if self._start is not None:
            self.mb = (_proc_status_kb("VmHWM") - self._start) / 1024


def _proc_status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(field)


def timed(fn: Callable[[], object], repeats: int) -> tuple[object, list[tuple[float, float]], float | None]:
    """Run ``fn`` ``repeats`` times: (last output, [(wall s, process CPU s)], peak extra RSS MB)."""
    times = []
    with PeakRss() as peak:
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            out = fn()
            times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return out, times, peak.mb


def describe(label: str, times: list[tuple[float, float]], mb: float | None) -> None:
    memory = f"{mb:6.1f} MB" if mb is not None else "n/a (needs Linux /proc)"
    walls = [w for w, _ in times]
    best_wall, best_cpu = min(times)
    print(
        f"{label:<44} best {best_wall:6.3f} s (CPU {best_cpu:6.3f} s)   median {statistics.median(walls):6.3f} s   "
        f"peak extra RSS {memory}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-queries", type=int, default=300)
    parser.add_argument("--full-reference", action="store_true", help="run the reference on every query (~1 min)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__}, numpy {np.__version__}, torch threads {torch.get_num_threads()}")
    start = time.perf_counter()
    query, gallery, q_pids, g_pids, q_cams, g_cams = make_case(args.seed)
    print(
        f"case: {NUM_QUERY} queries x {NUM_GALLERY} gallery, {NUM_IDS} ids + {NUM_DISTRACTORS} distractors (pid 0) "
        f"+ {NUM_JUNK} junk (pid -1), {NUM_CAMS} cameras, {DIM}-d features "
        f"(built in {time.perf_counter() - start:.1f} s)"
    )
    distmat = compute_distance(query, gallery).numpy()
    print(
        f"distance matrix: float32 {distmat.shape}, {distmat.nbytes / 1e6:.0f} MB "
        f"(a dense int64 argsort adds {distmat.size * 8 / 1e6:.0f} MB)"
    )
    print()

    labels = (q_pids, g_pids, q_cams, g_cams)
    # Warm up (thread pool, first-touch of library code) so memory figures show data only.
    evaluate_rank(distmat[:64], q_pids[:64], g_pids, q_cams[:64], g_cams)
    evaluate_features(query[:64], gallery, q_pids[:64], g_pids, q_cams[:64], g_cams)
    (cmc, aps, inps), times_a, mb_a = timed(lambda d=distmat: evaluate_rank(d, *labels), args.repeats)
    describe("(a) distmat -> metrics   evaluate_rank", times_a, mb_a)

    n_ref = NUM_QUERY if args.full_reference else min(args.reference_queries, NUM_QUERY)
    sub = slice(0, n_ref)
    ref_args = (distmat[sub], q_pids[sub], g_pids, q_cams[sub], g_cams)
    start = time.perf_counter()
    ref_cmc, ref_aps, ref_inps = reference_evaluate_rank(*ref_args)
    ref_seconds = (time.perf_counter() - start) * NUM_QUERY / n_ref
    how = "all queries" if n_ref == NUM_QUERY else f"{n_ref} queries, x{NUM_QUERY / n_ref:.2f} extrapolated"
    print(f"{'    reference (per-query Python, fast-reid)':<44} ~{ref_seconds:6.1f} s ({how})")

    start = time.perf_counter()
    np.argsort(distmat, axis=1)
    argsort_seconds = time.perf_counter() - start
    print(f"{'    numpy argsort of every row alone':<44} {argsort_seconds:7.3f} s (the first step of the peers)")
    best_a = min(w for w, _ in times_a)
    print(
        f"    speed-up: {ref_seconds / best_a:.0f}x the Python reference, "
        f"{FAST_REID_CYTHON_SECONDS / best_a:.1f}x fast-reid's "
        f"Cython ({FAST_REID_CYTHON_SECONDS} s); target <= {FAST_REID_CYTHON_SECONDS / 5:.2f} s: "
        f"{'met' if best_a <= FAST_REID_CYTHON_SECONDS / 5 else 'NOT met'}"
    )

    sub_cmc, sub_aps, sub_inps = evaluate_rank(*ref_args)
    print(
        f"    vs reference on its {n_ref} queries: max |AP diff| {np.max(np.abs(sub_aps - np.asarray(ref_aps))):.2e}, "
        f"max |INP diff| {np.max(np.abs(sub_inps - np.asarray(ref_inps))):.2e}, "
        f"|mAP diff| {abs(np.mean(sub_aps) - np.mean(ref_aps)):.2e}, "
        f"max |CMC diff| {np.max(np.abs(sub_cmc - ref_cmc)):.2e}"
    )
    print()

    del distmat
    result, times_b, mb_b = timed(lambda: evaluate_features(query, gallery, *labels), args.repeats)
    describe("(b) features -> metrics  evaluate_features", times_b, mb_b)
    print(
        f"    vs (a): |mAP diff| {abs(result.mAP - np.mean(aps)):.2e}, "
        f"max |CMC diff| {np.max(np.abs(result.cmc - cmc)):.2e}"
    )
    print()
    summary = ", ".join(f"{k} {v:.4f}" for k, v in result.summary().items())
    print(f"metrics: {summary}  ({int(result.per_query.num_valid)} valid queries)")


if __name__ == "__main__":
    main()
