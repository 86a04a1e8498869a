"""Ranking and k-reciprocal re-ranking at Market-1501 and MSMT17 size: time and peak memory, dense against streamed.

    python benchmarks/rerank_scale.py [--sizes market msmt] [--dim 2048] [--rerank-dim 2048]

Sizes (queries x gallery): Market-1501 3368 x 15913, MSMT17 11659 x 82161. Features: seeded,
clustered by identity (about 20 gallery images an identity), float32.

Cases, each in a fresh process so that its peak resident memory (VmHWM, Linux) is its own;
the peak includes the features themselves:
  rank-dense        the full (q, g) distance matrix, then per_query_from_distmat
  rank-chunked      evaluate_features: distances and ranks one chunk of queries at a time
  rerank-dense      reidlab's re_ranking on the three dense distance matrices
  rerank-streaming  evaluate_features(rerank=True): sparse k-nearest lists, query blocks, no N x N matrix
  rerank-fastreid   fast-reid 1.4.0's re_ranking (when the fastreid package is importable)
At MSMT17 size the dense cases are not run: (q+g)^2 float32 alone is 35 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

SIZES = {"market": (3368, 15913), "msmt": (11659, 82161)}
DENSE_CASES = ("rank-dense", "rerank-dense", "rerank-fastreid")
CASES = ("rank-dense", "rank-chunked", "rerank-dense", "rerank-streaming", "rerank-fastreid")


def make_features(num_q: int, num_g: int, dim: int, seed: int = 0):
    import torch

    generator = torch.Generator().manual_seed(seed)
    num_ids = max(2, num_g // 20)
    g_pids = torch.randint(0, num_ids, (num_g,), generator=generator)
    q_pids = torch.randint(0, num_ids, (num_q,), generator=generator)
    centres = torch.randn(num_ids, dim, generator=generator)
    noise = 3.5  # mAP about 0.7 at 2048-d: neither trivial nor hopeless
    gallery = centres[g_pids] + noise * torch.randn(num_g, dim, generator=generator)
    query = centres[q_pids] + noise * torch.randn(num_q, dim, generator=generator)
    q_cams, g_cams = torch.zeros(num_q, dtype=torch.int64), torch.ones(num_g, dtype=torch.int64)  # every match counts
    return query, gallery, q_pids.numpy(), g_pids.numpy(), q_cams.numpy(), g_cams.numpy()


def run_case(case: str, size: str, dim: int) -> dict:
    import torch

    from reidlab.evaluation import compute_distance, evaluate_features, per_query_from_distmat, re_ranking

    query, gallery, *labels = make_features(*SIZES[size], dim)
    start = time.perf_counter()
    if case == "rank-dense":
        mAP = per_query_from_distmat(compute_distance(query, gallery), *labels).mAP
    elif case == "rank-chunked":
        mAP = evaluate_features(query, gallery, *labels).mAP
    elif case == "rerank-streaming":
        mAP = evaluate_features(query, gallery, *labels, rerank=True).mAP
    elif case in ("rerank-dense", "rerank-fastreid"):
        q_g, q_q, g_g = compute_distance(query, gallery), compute_distance(query, query), compute_distance(gallery, gallery)
        if case == "rerank-dense":
            distances = re_ranking(q_g, q_q, g_g)
        else:
            distances = fastreid_re_ranking()(q_g.numpy(), q_q.numpy(), g_g.numpy(), 20, 6, 0.3)
        mAP = per_query_from_distmat(torch.as_tensor(distances), *labels).mAP
    else:
        raise SystemExit(f"unknown case {case}")
    seconds = time.perf_counter() - start
    peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    return {"case": case, "size": size, "dim": dim, "seconds": seconds, "peak_gb": peak_kb / 2**20, "mAP": float(mAP)}


def fastreid_re_ranking():
    """fast-reid 1.4.0's re_ranking, loaded from its file (its package __init__ needs scikit-learn and faiss)."""
    import importlib.util

    spec = importlib.util.find_spec("fastreid")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("fastreid is not installed (pip install --no-deps fastreid==1.4.0)")
    path = Path(list(spec.submodule_search_locations)[0]) / "evaluation" / "rerank.py"
    module_spec = importlib.util.spec_from_file_location("fastreid_rerank", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.re_ranking


def measure(case: str, size: str, dim: int) -> dict:
    command = [sys.executable, __file__, "--child", case, size, str(dim)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"case": case, "size": size, "dim": dim, "error": (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", choices=tuple(SIZES), default=list(SIZES))
    parser.add_argument("--dim", type=int, default=2048, help="feature width for ranking (default 2048)")
    parser.add_argument("--rerank-dim", type=int, default=2048, help="feature width for re-ranking (default 2048)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, size, dim = args.child
        print(json.dumps(run_case(case, size, int(dim))))
        return
    print(f"{'size':<8}{'case':<18}{'dim':>6}{'seconds':>10}{'peak GB':>9}{'mAP':>10}")
    for size in args.sizes:
        num_q, num_g = SIZES[size]
        for case in CASES:
            if size == "msmt" and case in DENSE_CASES:
                print(f"{size:<8}{case:<18}{'':>6}  not run: (q+g)^2 float32 = {(num_q + num_g) ** 2 * 4 / 1e9:.0f} GB")
                continue
            result = measure(case, size, args.rerank_dim if case.startswith("rerank") else args.dim)
            if "error" in result:
                print(f"{size:<8}{case:<18}{result['dim']:>6}  failed: {result['error']}")
                continue
            print(f"{size:<8}{case:<18}{result['dim']:>6}{result['seconds']:>10.1f}{result['peak_gb']:>9.2f}{result['mAP']:>10.5f}", flush=True)


if __name__ == "__main__":
    main()
