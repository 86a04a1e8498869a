"""Does the small-data recipe learn anything that raw pixels do not? Steps until its mAP beats them.

The baseline ranks the test set by the distance between the images' raw pixels (at SIZE_TEST,
the metric of TEST.METRIC): a model that cannot beat it has learned nothing about people. The
script then trains configs/small/bagtricks_R18.yml (a from-scratch ResNet18), evaluating after
every epoch, and prints the first epoch and optimiser step at which the trained mAP is above the
baseline, with both mAPs over the run (early stopping keeps the recipe's patience in epochs).

    python benchmarks/small_data_baseline.py --data synthetic          # the built-in synthetic set
    python benchmarks/small_data_baseline.py --data small-folder       # a 200-image folder it writes
    python benchmarks/small_data_baseline.py --data DIR [--names Folder] # your own DATASETS.ROOT

`small-folder` is the size of the issue's real-photo set (20 training identities with 200
images; 40 query and 160 gallery images) in the Folder layout, made from synthetic images, since
this machine has no photos. Training stops at the first epoch that beats the baseline unless
--full is given.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path

import torch

from reidlab.config import load_config
from reidlab.data import build_test_data, write_synthetic_dataset
from reidlab.engine.hooks import CallbackHook
from reidlab.engine.stop_reasons import StopReason
from reidlab.engine.train import train
from reidlab.evaluation import evaluate_features

RECIPE = "configs/small/bagtricks_R18.yml"
MARKET_NAME = re.compile(r"^(-?\d+)_c(\d+)")


def raw_pixel_baseline(config: str, overrides: list[str]) -> dict:
    """mAP and rank-1 of ranking the first test set by its images' raw pixels."""
    cfg = load_config(config, overrides)
    test = build_test_data(cfg)[0]
    pixels = torch.cat([batch.images.float().flatten(1) for batch in test.loader])
    q = test.num_query
    result = evaluate_features(pixels[:q], pixels[q:], test.pids[:q], test.pids[q:], test.camids[:q], test.camids[q:], metric=cfg.TEST.METRIC)
    return {"mAP": result.mAP, "rank1": result.rank1, "queries": q, "gallery": test.num_gallery, "metric": cfg.TEST.METRIC}


def write_small_folder(root: Path) -> Path:
    """20 training ids x 10 images, 40 test ids x 5 images (one query each), in the Folder layout."""
    market = write_synthetic_dataset(root / "market", num_train_ids=20, num_test_ids=40, images_per_id=5, num_cameras=4, num_distractors=0, num_junk=0, seed=7)
    folder = root / "Folder"
    train_ids = write_synthetic_dataset(root / "market_train", num_train_ids=20, num_test_ids=2, images_per_id=10, num_cameras=4, num_distractors=0, num_junk=0, seed=8)
    for source, split in ((train_ids.dataset_dir / "bounding_box_train", "train"), (market.dataset_dir / "query", "query"), (market.dataset_dir / "bounding_box_test", "gallery")):
        for image in sorted(source.glob("*.jpg")):
            pid, camera = MARKET_NAME.match(image.name).groups()
            target = folder / split / pid / f"c{camera}_{image.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, target)
    shutil.rmtree(root / "market")
    shutil.rmtree(root / "market_train")
    return root


def train_until_beaten(config: str, overrides: list[str], baseline: float, full: bool) -> tuple[list[dict], dict | None, float]:
    """Train with an evaluation every epoch; (each evaluation, the first above the baseline, seconds)."""
    evaluations: list[dict] = []
    first: dict = {}

    def record(trainer, epoch, numbers):
        if "mAP" not in numbers:
            return
        evaluations.append({"epoch": epoch, "step": trainer.state.iteration, "mAP": numbers["mAP"], "rank1": numbers["rank1"]})
        if numbers["mAP"] > baseline and not first:
            first.update(evaluations[-1])
            if not full:  # paused, so `train --resume` could go on with the rest of the recipe
                trainer.request_stop(StopReason.PAUSED, f"the trained mAP beat the raw-pixel baseline at epoch {epoch}")

    cfg = load_config(config, overrides)
    patience = cfg.SOLVER.EARLY_STOP.PATIENCE * cfg.TEST.EVAL_PERIOD  # the recipe's patience in epochs, now that every epoch is evaluated
    start = time.perf_counter()
    train(config, overrides=[*overrides, "TEST.EVAL_PERIOD", "1", "SOLVER.EARLY_STOP.PATIENCE", str(patience)], hooks=[CallbackHook(after_epoch=record)])
    return evaluations, first or None, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="synthetic", help="synthetic, small-folder, or a DATASETS.ROOT")
    parser.add_argument("--names", default=None, help="DATASETS.NAMES/TESTS for --data DIR (default: the recipe's Folder)")
    parser.add_argument("--config", default=RECIPE)
    parser.add_argument("--full", action="store_true", help="train the whole recipe, not only until the baseline is beaten")
    parser.add_argument("opts", nargs="*", help="KEY VALUE overrides")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="small_data_"))
    overrides = ["OUTPUT_DIR", (work / "run").as_posix(), *args.opts]
    if args.data == "synthetic":
        root, names = write_synthetic_dataset(work / "data").root, "Market1501"
    elif args.data == "small-folder":
        root, names = write_small_folder(work / "data"), "Folder"
    else:
        root, names = Path(args.data), args.names
    overrides = ["DATASETS.ROOT", root.as_posix(), *(["DATASETS.NAMES", f'("{names}",)', "DATASETS.TESTS", f'("{names}",)'] if names else []), *overrides]
    baseline = raw_pixel_baseline(args.config, overrides)
    print(f"data {args.data}: {baseline['queries']} query / {baseline['gallery']} gallery images; config {args.config}")
    print(f"raw-pixel nearest neighbour ({baseline['metric']}): mAP {100 * baseline['mAP']:.2f} %, rank-1 {100 * baseline['rank1']:.2f} %")
    evaluations, first, seconds = train_until_beaten(args.config, overrides, baseline["mAP"], args.full)
    for row in evaluations:
        print(f"  epoch {row['epoch']:3d}  step {row['step']:5d}  mAP {100 * row['mAP']:6.2f} %  rank-1 {100 * row['rank1']:6.2f} %")
    if first:
        print(f"beats the baseline at epoch {first['epoch']}, step {first['step']}: mAP {100 * first['mAP']:.2f} % vs {100 * baseline['mAP']:.2f} % ({seconds:.0f} s of training)")
    else:
        best = max(evaluations, key=lambda r: r["mAP"], default=None)
        print(f"never beat the baseline in {seconds:.0f} s; best mAP {100 * best['mAP']:.2f} % at epoch {best['epoch']}" if best else "no evaluation ran")
    print(f"run folder: {work / 'run'}")


if __name__ == "__main__":
    main()
