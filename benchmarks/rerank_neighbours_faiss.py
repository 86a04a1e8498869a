"""Would faiss find re-ranking's neighbour lists faster than reidlab's chunked torch top-k?

Streaming re-ranking (reidlab/evaluation/rerank_streaming.py) needs each image's k1 + 1 nearest
images and the largest of its distances. This times reidlab's blocked torch pass against an exact
faiss IndexFlatIP (k nearest, plus a second search for the farthest) on the same unit vectors,
and checks that both give the same neighbour lists. An approximate faiss index would be faster
but gives other neighbours, so other re-ranked distances than the dense reference.

    python benchmarks/rerank_neighbours_faiss.py [--images 19281] [--dim 2048] [--k 21]

Needs the faiss extra (pip install faiss-cpu). Default size: Market-1501's query + gallery.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from reidlab.evaluation.rerank_streaming import _BLOCK_ENTRIES, _neighbours_and_row_max


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=19281)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--k", type=int, default=21, help="neighbours per image (k1 + 1 with fast-reid's k1 20)")
    args = parser.parse_args()
    import faiss

    features = F.normalize(torch.randn(args.images, args.dim, generator=torch.Generator().manual_seed(0)), dim=1)
    start = time.perf_counter()
    near, _ = _neighbours_and_row_max(features, "cosine", args.k, max(1, _BLOCK_ENTRIES // args.images))
    torch_seconds = time.perf_counter() - start

    start = time.perf_counter()
    vectors = np.ascontiguousarray(features.numpy())
    index = faiss.IndexFlatIP(args.dim)
    index.add(vectors)
    _, found = index.search(vectors, args.k)
    index.search(-vectors, 1)  # the farthest image: the row maximum the reference divides by
    faiss_seconds = time.perf_counter() - start

    same = float((torch.from_numpy(found) == near).float().mean())
    print(f"{args.images} images x {args.dim}-d, k {args.k}, {torch.get_num_threads()} threads")
    print(f"  torch chunked top-k + row max: {torch_seconds:.1f} s")
    print(f"  faiss IndexFlatIP k-NN + farthest: {faiss_seconds:.1f} s  (faiss / torch = {faiss_seconds / torch_seconds:.2f})")
    print(f"  same neighbour at the same position: {100 * same:.2f} %")


if __name__ == "__main__":
    main()
