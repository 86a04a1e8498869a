"""The CUDA paths no CPU test can run: one short script for a session that is lent a GPU.

It prints, with figures (ResNet50 at 256x128, batch 64 = 16 ids x 4, the bag-of-tricks config):
1. pinned against pageable host-to-device copies of a training batch (GB/s);
2. the model alone: the Trainer's step on one batch already on the GPU, fp32 against AMP
   (fp16 autocast + GradScaler), and AMP with channels_last;
3. real `train` runs (3 epochs, evaluated at the end), images/s of epochs 2-3 with the data
   pipeline: fp32, AMP, AMP without the background prefetch thread, AMP with channels_last;
   each with its mAP, whether every loss was finite, and the skipped-step (inf/NaN gradient) fraction;
4. an out-of-memory run (images far too large) that must end as `out_of_memory` with advice,
   not as a crash.

    python benchmarks/cuda_paths.py [--out DIR] [--iters 30]

Without CUDA it says so and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch

from reidlab.config import load_config
from reidlab.data import build_test_data, build_train_data, write_synthetic_dataset
from reidlab.data.prefetch import prefetched
from reidlab.engine import train as train_module
from reidlab.engine.train import train
from reidlab.engine.trainer import Trainer
from reidlab.modeling import build_model

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


def model_alone(data_root: Path, out: Path, amp: bool, channels_last: bool, iters: int) -> float:
    """Images/s of the Trainer's own step on one batch that stays on the GPU."""
    cfg = load_config(CONFIG, overrides(data_root, out, {"SOLVER.AMP.ENABLED": amp, "SOLVER.WARMUP_ITERS": 10}))
    torch.backends.cudnn.benchmark = True
    train_data = build_train_data(cfg, seed=0)
    device = torch.device("cuda")
    model = build_model(cfg, train_data.num_classes).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    trainer = Trainer(cfg, model, train_data, build_test_data(cfg), device)
    trainer.train_model.train()
    batch = next(iter(train_data.loader))
    images, targets = batch.images.to(device), batch.targets.to(device)
    for _ in range(5):  # cuDNN's autotuning and the allocator's first blocks
        trainer.train_step(images, targets)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        trainer.train_step(images, targets)
    torch.cuda.synchronize()
    return images.shape[0] * iters / (time.perf_counter() - start)


def real_run(data_root: Path, out: Path, amp: bool, prefetch: bool = True, channels_last: bool = False) -> str:
    """One 3-epoch `train` run; its pipeline-included images/s (epochs 2-3), mAP and AMP health, as a line."""
    patches = contextlib.ExitStack()
    if not prefetch:  # batches prepared in the main thread, between steps, as on the CPU
        for module in ("reidlab.engine.trainer", "reidlab.engine.inference"):
            patches.enter_context(mock.patch(f"{module}.prefetched_for", lambda loader, device: prefetched(loader, depth=0)))
    if channels_last:  # cuDNN then runs every convolution in NHWC
        build = train_module.build_training_model
        patches.enter_context(mock.patch.object(
            train_module, "build_training_model", lambda *a: (build(*a)[0].to(memory_format=torch.channels_last), None)))
    with patches:
        result = train(CONFIG, overrides=overrides(data_root, out, {
            "SOLVER.AMP.ENABLED": amp, "SOLVER.MAX_EPOCH": 3, "TEST.EVAL_PERIOD": 3, "SOLVER.WARMUP_ITERS": 10,
            "SOLVER.CHECKPOINT_PERIOD": 3}))
    history = json.loads((out / "training_history.json").read_text())
    speed = statistics.mean(r["images_per_second"] for r in history[1:])
    finite = all(torch.isfinite(torch.tensor(r["loss"])) for r in history)
    best = result.best["mAP"] if result.best else None
    skipped = [round(r["nonfinite_grad_fraction"], 3) for r in history]
    return (f"{speed:7.0f} im/s  mAP {best}  stop {result.stop.reason.value}  losses finite {finite}  "
            f"best_model.pth {(out / 'best_model.pth').is_file()}  skipped-step fraction per epoch {skipped}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--iters", type=int, default=30, help="measured training steps per model-alone variant")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check here (run this on a GPU machine)")
        return 0
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        data = root / "data"
        write_synthetic_dataset(data, num_train_ids=300)  # 3000 training images: 46 steps an epoch

        pageable, pinned = copy_speed(False), copy_speed(True)
        print(f"1. host-to-device copy of a 64x3x256x128 uint8 batch: pageable {pageable:.2f} GB/s, pinned {pinned:.2f} GB/s", flush=True)

        alone = {name: model_alone(data, root / f"alone_{name}", amp, cl, args.iters)
                 for name, amp, cl in (("fp32", False, False), ("amp", True, False), ("amp+channels_last", True, True))}
        print("2. model alone: " + ", ".join(f"{name} {speed:.0f} im/s" for name, speed in alone.items()), flush=True)

        print("3. train runs with the data pipeline:", flush=True)
        for name, kwargs in (("fp32", {"amp": False}), ("amp", {"amp": True}), ("amp, no prefetch thread", {"amp": True, "prefetch": False}),
                             ("amp+channels_last", {"amp": True, "channels_last": True})):
            print(f"   {name:<24}{real_run(data, root / name.replace(' ', '_').replace(',', ''), **kwargs)}", flush=True)

        oom = root / "oom_run"
        # 64 images at 4096x2048 need about 500 GB of activations (2048x1024 still fits an H200's 141 GB);
        # decoding them uncached keeps host memory sane.
        result = train(CONFIG, overrides=overrides(data, oom, {"INPUT.SIZE_TRAIN": "[4096, 2048]", "DATALOADER.CACHE_IMAGES": "off"}))
        advice = (oom / "STOPPING_REASON.txt").read_text().splitlines()[:3]
        print(f"4. oversized batch: stop {result.stop.reason.value} (expected out_of_memory); {' / '.join(advice)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
