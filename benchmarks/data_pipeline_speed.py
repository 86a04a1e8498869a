"""Per-batch cost of the training data pipeline, measured in the main process.

Batch 32 (8 identities x 4) at 128x64 with fast-reid's bag-of-tricks augmentation (flip,
pad 10 + crop, random erasing), on a synthetic Market-1501 set. Prints milliseconds per batch:
  cache on                   images decoded once; gather + augment in the main process
  cache off, 0 workers       decode + resize + augment in the main process (the full CPU cost)
  cache off, N workers       time the main process waits for workers, consuming back to back
The target: < 15 ms per batch next to ResNet18's ~340 ms on 2 CPU cores.

    PYTHONPATH=. python benchmarks/data_pipeline_speed.py [--root DIR] [--epochs 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from reidlab.config import build_config
from reidlab.data import build_train_data, write_synthetic_dataset


def make_config(root: Path, cache: str, workers: int):
    return build_config(
        {
            "DATASETS": {"ROOT": str(root), "NAMES": ["Market1501"], "TESTS": ["Market1501"]},
            "INPUT": {
                "SIZE_TRAIN": [128, 64],
                "SIZE_TEST": [128, 64],
                "FLIP": {"ENABLED": True},
                "PADDING": {"ENABLED": True, "SIZE": 10},
                "REA": {"ENABLED": True, "PROB": 0.5},
            },
            "DATALOADER": {"SAMPLER_TRAIN": "NaiveIdentitySampler", "NUM_INSTANCE": 4, "NUM_WORKERS": workers, "CACHE_IMAGES": cache},
            "SOLVER": {"IMS_PER_BATCH": 32},
        }
    )


def measure(root: Path, cache: str, workers: int, epochs: int) -> tuple[float, float, int]:
    """(build seconds, ms per batch, batches timed)."""
    start = time.perf_counter()
    data = build_train_data(make_config(root, cache, workers), seed=0)
    build_seconds = time.perf_counter() - start
    data.loader.set_epoch(0)
    next(iter(data.loader))  # warm-up: worker start, first allocations
    count, elapsed = 0, 0.0
    for epoch in range(1, epochs + 1):
        data.loader.set_epoch(epoch)
        start = time.perf_counter()
        for _ in data.loader:
            count += 1
        elapsed += time.perf_counter() - start
    return build_seconds, 1000.0 * elapsed / count, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="DATASETS.ROOT of a synthetic set (written there if missing); default: a temp folder")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.root or Path(scratch)
        made = write_synthetic_dataset(root)
        print(f"synthetic set: {made.train_images} training images, {made.train_ids} ids, batch 32 (8 x 4) at 128x64")
        for label, cache, workers in (
            ("cache on", "on", 0),
            ("cache off, 0 workers", "off", 0),
            (f"cache off, {args.workers} workers", "off", args.workers),
        ):
            build_seconds, ms, count = measure(root, cache, workers, args.epochs)
            print(f"{label:<24} {ms:7.2f} ms/batch  ({count} batches; build {build_seconds:.2f} s)")


if __name__ == "__main__":
    main()
