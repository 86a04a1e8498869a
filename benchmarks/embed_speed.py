"""CPU speed of reidlab.deploy: images per second for embed() and for PyTorch against ONNX Runtime.

    python benchmarks/embed_speed.py [--run RUN_DIR | --config FILE] [--images 256] [--batch-size 64] [--repeats 3] [--threads N] [--flip]

The model: the run's best_model.pth with --run; otherwise --config (default the demo config,
ResNet18 at 128x64; configs/Market1501/bagtricks_R50.yml is ResNet50 at 256x128) with random
weights (speed does not depend on the weights). The images: a synthetic
Market-1501-style set written at 256x128 JPEG into a temporary folder, so resizing to the
model's input size is part of the work, as it is for real detector crops.

Measured (best of --repeats after one warm-up, wall clock):
  (a) embed(paths): read + decode + resize + forward (+ flip test when the config asks).
  (b) embed(decoded uint8 tensors at 256x128): resize + forward.
  (c) forward only on a ready float32 batch at input size, PyTorch (ReIDModel.embed_batch)
      against ONNX Runtime on the exported model (the same computation, exported by
      reidlab.deploy.export_model), batch by batch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reidlab.config import load_config  # noqa: E402
from reidlab.data import decode_file, resize_image, write_synthetic_dataset  # noqa: E402
from reidlab.deploy import ReIDModel, export_model, list_image_files  # noqa: E402
from reidlab.modeling import build_model  # noqa: E402

DEMO_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


def best_seconds(step: Callable[[], object], repeats: int) -> float:
    step()  # warm-up: first-call allocations, thread pools
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def build_benchmark_model(run: str | None, config: str, batch_size: int, flip: bool) -> ReIDModel:
    if run:
        return ReIDModel.from_run(run, device="cpu", batch_size=batch_size)
    cfg = load_config(config, ["TEST.FLIP.ENABLED", str(flip), "MODEL.BACKBONE.PRETRAIN", "False", "MODEL.DEVICE", "cpu"])
    return ReIDModel(build_model(cfg, num_classes=751).eval(), cfg, device="cpu", batch_size=batch_size, source=Path(f"random weights, {config}"))


def write_images(folder: Path, count: int) -> list[Path]:
    """At least `count` 256x128 JPEGs of synthetic people; the first `count` are used."""
    ids = max(2, count // 8 + 1)
    write_synthetic_dataset(folder, num_train_ids=ids, num_test_ids=2, images_per_id=8, num_cameras=2, height=256, width=128, num_distractors=0, num_junk=0)
    return list_image_files(folder / "Market-1501-v15.09.15" / "bounding_box_train")[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="run directory or .pth (default: the demo config with random weights)")
    parser.add_argument("--config", default=DEMO_CONFIG, help=f"config of a random-weights model (default {DEMO_CONFIG})")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch and ONNX Runtime intra-op threads (default: torch's)")
    parser.add_argument("--flip", action="store_true", help="flip test on (random-weights model only; a run uses its config)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    model = build_benchmark_model(args.run, args.config, args.batch_size, args.flip)
    import onnxruntime

    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {threads} threads (torch and ONNX Runtime)")
    print(f"model: {model.describe()}; batch size {args.batch_size}")

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_images(Path(tmp) / "data", args.images)
        decoded = [decode_file(p) for p in paths]
        n = len(paths)
        print(f"{n} JPEG images of {decoded[0].shape[1]}x{decoded[0].shape[2]}, resized to {model.input_size[0]}x{model.input_size[1]}\n")

        files_s = best_seconds(lambda: model.embed(paths), args.repeats)
        tensors_s = best_seconds(lambda: model.embed(decoded), args.repeats)
        print(f"{'(a) embed(file paths)':<44} {n / files_s:8.1f} images/s")
        print(f"{'(b) embed(decoded uint8 tensors)':<44} {n / tensors_s:8.1f} images/s")

        exported = export_model(model, "onnx", Path(tmp) / "model.onnx")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(str(exported.path), options, providers=["CPUExecutionProvider"])
        ready = torch.stack([resize_image(d, model.input_size) for d in decoded]).float()
        batches = list(ready.split(args.batch_size))
        numpy_batches = [b.numpy() for b in batches]
        torch_s = best_seconds(lambda: [model.embed_batch(b) for b in batches], args.repeats)
        ort_s = best_seconds(lambda: [session.run(None, {"images": b}) for b in numpy_batches], args.repeats)
        print(f"{'(c) forward, PyTorch (eager)':<44} {n / torch_s:8.1f} images/s")
        print(f"{'(c) forward, ONNX Runtime':<44} {n / ort_s:8.1f} images/s  ({torch_s / ort_s:.2f}x PyTorch; max abs diff {exported.max_abs_diff:.2g})")


if __name__ == "__main__":
    main()
