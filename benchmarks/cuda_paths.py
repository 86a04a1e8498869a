"""The CUDA paths no CPU test can run: one short script for a session that is lent a GPU.

It prints, with figures:
1. pinned against pageable host-to-device copies of a training batch (GB/s);
2. training images/s of ResNet50 at 256x128, batch 64 (16 ids x 4), fp32 against AMP
   (fp16 autocast + GradScaler), with the data pipeline, through the real Trainer;
3. a short real run with AMP: finite losses, a best_model.pth and the stop reason;
4. an out-of-memory run (images far too large) that must end as `out_of_memory` with advice,
   not as a crash.

    python benchmarks/cuda_paths.py [--out DIR] [--iters 30]

Without CUDA it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from reidlab.config import load_config
from reidlab.data import build_test_data, build_train_data, write_synthetic_dataset
from reidlab.engine.run_dir import RunDirectory
from reidlab.engine.train import train
from reidlab.engine.trainer import Trainer
from reidlab.modeling import build_model
from train_speed import endless_batches  # a sibling script: benchmarks/ is on sys.path when this one runs

CONFIG = "configs/Market1501/bagtricks_R50.yml"


def copy_speed(pinned: bool, repeats: int = 20) -> float:
    """GB/s of copying a uint8 batch of 64 images at 256x128 to the GPU."""
    batch = torch.randint(0, 255, (64, 3, 256, 128), dtype=torch.uint8)
    if pinned:
        batch = batch.pin_memory()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        batch.to("cuda", non_blocking=pinned)
    torch.cuda.synchronize()
    return batch.numel() * repeats / (time.perf_counter() - start) / 1e9


def overrides(data_root: Path, out: Path, extra: dict) -> list[str]:
    values = {
        "DATASETS.ROOT": data_root.as_posix(), "OUTPUT_DIR": out.as_posix(), "MODEL.BACKBONE.PRETRAIN": False,
        "MODEL.DEVICE": "cuda", "DATALOADER.NUM_WORKERS": 4, **extra,
    }
    return [str(item) for pair in values.items() for item in pair]


def training_speed(data_root: Path, out: Path, amp: bool, iters: int) -> float:
    """Images/s of the Trainer's own step on the loader's batches (the pipeline included)."""
    cfg = load_config(CONFIG, overrides(data_root, out, {"SOLVER.AMP.ENABLED": amp, "SOLVER.WARMUP_ITERS": 10}))
    train_data = build_train_data(cfg, seed=0)
    device = torch.device("cuda")
    trainer = Trainer(cfg, RunDirectory(out), build_model(cfg, train_data.num_classes).to(device), train_data, build_test_data(cfg), device)
    trainer.train_model.train()
    batches = endless_batches(train_data.loader)

    def steps(n: int) -> None:
        for _ in range(n):
            batch = next(batches)
            trainer.train_step(batch.images.to(device, non_blocking=True), batch.targets.to(device, non_blocking=True))

    steps(5)  # warm up cuDNN and the allocator
    torch.cuda.synchronize()
    start = time.perf_counter()
    steps(iters)
    torch.cuda.synchronize()
    return cfg.SOLVER.IMS_PER_BATCH * iters / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--iters", type=int, default=30, help="measured training steps per variant")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check here (run this on a GPU machine)")
        return 0
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        data = root / "data"
        write_synthetic_dataset(data)

        pageable, pinned = copy_speed(False), copy_speed(True)
        print(f"1. host-to-device copy of a 64x3x256x128 uint8 batch: pageable {pageable:.2f} GB/s, pinned {pinned:.2f} GB/s")

        fp32 = training_speed(data, root / "speed_fp32", amp=False, iters=args.iters)
        fp16 = training_speed(data, root / "speed_amp", amp=True, iters=args.iters)
        print(f"2. ResNet50 256x128 batch 64, with the pipeline: fp32 {fp32:.0f} im/s, AMP fp16+GradScaler {fp16:.0f} im/s ({fp16 / fp32:.2f}x)")

        run = root / "amp_run"
        result = train(CONFIG, overrides=overrides(data, run, {"SOLVER.AMP.ENABLED": True, "SOLVER.MAX_EPOCH": 4, "TEST.EVAL_PERIOD": 2}))
        history = json.loads((run / "training_history.json").read_text())
        finite = all(r["loss"] == r["loss"] and abs(r["loss"]) != float("inf") for r in history)
        print(f"3. AMP run: stop {result.stop.reason.value}, best mAP {result.best['mAP'] if result.best else None}, "
              f"losses finite: {finite}, best_model.pth: {(run / 'best_model.pth').is_file()}, "
              f"skipped-step fraction per epoch: {[round(r['nonfinite_grad_fraction'], 3) for r in history]}")

        oom = root / "oom_run"
        # Activations of 64 images at 4096x2048 run to hundreds of GB; decoding them uncached keeps host memory sane.
        result = train(CONFIG, overrides=overrides(data, oom, {"INPUT.SIZE_TRAIN": "[4096, 2048]", "DATALOADER.CACHE_IMAGES": "off"}))
        advice = (oom / "STOPPING_REASON.txt").read_text().splitlines()[:3]
        print(f"4. oversized batch: stop {result.stop.reason.value} (expected out_of_memory); {' / '.join(advice)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
