"""Successive halving against sequential on the seed's five remedies: epochs spent, and the mAP of each pick.

On a small synthetic set (64x32 images, ResNet18 from scratch, CPU): a baseline run is started and
paused after one epoch, `diagnose` writes the seed's five remedies for it, and for each training seed
the five are swept both ways (each strategy in its own folder). Printed:
  - the epochs halving used / the epochs sequential used (target: at most 40 %);
  - per seed, the mAP of halving's pick next to the sequential winner's (highest best mAP), and
  - the seed-to-seed noise: the std over seeds of each remedy's best mAP in the sequential sweeps,
    averaged over the remedies (the pick should be within it).
Epochs are what matter; seconds on a shared machine are noisy.

    PYTHONPATH=. python benchmarks/sweep_efficiency.py [--seeds 3] [--max-epoch 30] [--eta 3] [--min-epochs 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import torch

from reidlab.data import write_synthetic_dataset
from reidlab.engine.train import train
from reidlab.research.diagnose import diagnose
from reidlab.research.diagnose.remedies import SEED_ORIGIN
from reidlab.research.sweep import sweep

DEMO_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


def base_overrides(data_root: Path, out: Path, max_epoch: int) -> list[str]:
    """The baseline: the demo config shrunk (64x32, batch 16 = 4 ids x 4), evaluated every epoch, patience 5."""
    values = {
        "DATASETS.ROOT": data_root.as_posix(),
        "OUTPUT_DIR": out.as_posix(),
        "INPUT.SIZE_TRAIN": "[64, 32]",
        "INPUT.SIZE_TEST": "[64, 32]",
        "SOLVER.IMS_PER_BATCH": "16",
        "DATALOADER.NUM_INSTANCE": "4",
        "SOLVER.MAX_EPOCH": str(max_epoch),
        "SOLVER.STEPS": f"[{max_epoch // 2}, {max_epoch * 4 // 5}]",
        "SOLVER.WARMUP_ITERS": "12",
        "SOLVER.EARLY_STOP.PATIENCE": "5",
        "TEST.EVAL_PERIOD": "1",
        "TEST.IMS_PER_BATCH": "64",
    }
    return [item for pair in values.items() for item in pair]


def seed_remedies(work: Path, data_root: Path, max_epoch: int) -> list[Path]:
    """The seed's five remedy configs, written by diagnose for a baseline paused after one epoch."""
    baseline = work / "logs" / "baseline"
    with open(work / "baseline_console.txt", "a", encoding="utf-8") as console, contextlib.redirect_stdout(console):
        if not (baseline / "model_info.json").exists():
            train(DEMO_CONFIG, overrides=base_overrides(data_root, baseline, max_epoch), until_epoch=1)
        result = diagnose(baseline, out_configs=work / "remedies", workdir=work)
    return [w.path for w in result.remedies if w.remedy.origin == SEED_ORIGIN]


def run_strategy(configs: list[Path], work: Path, seed: int, strategy: str, eta: int, min_epochs: int) -> dict:
    folder = work / f"seed{seed}" / strategy
    overrides = ["SEED", str(seed), "OUTPUT_DIR", (folder / "base").as_posix()]
    start = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "console.txt", "a", encoding="utf-8") as console, contextlib.redirect_stdout(console):  # training's own output
        result = sweep(configs, overrides, strategy=strategy, eta=eta, min_epochs=min_epochs, out=folder, say=print)
    runs = {run.name: run.best_mAP for run in result.state.runs}
    return {
        "epochs": result.state.epochs_spent,
        "seconds": time.monotonic() - start,
        "pick": result.winner.name if result.winner else None,
        "pick_mAP": result.winner.best_mAP if result.winner else None,
        "maps": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="training seeds (default 3)")
    parser.add_argument("--max-epoch", type=int, default=30, help="SOLVER.MAX_EPOCH of the baseline (default 30)")
    parser.add_argument("--eta", type=int, default=3, choices=(2, 3), help="halving's eta (default 3)")
    parser.add_argument("--min-epochs", type=int, default=3, help="halving's first rung (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest for tiny models on a shared machine)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = args.work or Path(tempfile.mkdtemp(prefix="sweep_efficiency_"))
    data_root = work / "data"
    write_synthetic_dataset(data_root, num_train_ids=24, num_test_ids=40, images_per_id=8, num_cameras=3, height=64, width=32, num_distractors=20, num_junk=4, seed=0)
    configs = seed_remedies(work, data_root, args.max_epoch)
    print(f"work folder {work}; remedies: {', '.join(c.stem for c in configs)}")

    rows = []
    for seed in range(args.seeds):
        sequential = run_strategy(configs, work, seed, "sequential", args.eta, args.min_epochs)
        halving = run_strategy(configs, work, seed, "halving", args.eta, args.min_epochs)
        rows.append((seed, sequential, halving))
        for name, row in (("sequential", sequential), ("halving", halving)):
            print(f"seed {seed} {name:<10} epochs {row['epochs']:>4}  {row['seconds']:>6.0f} s  pick {row['pick']:<36} mAP {row['pick_mAP']:.4f}", flush=True)

    seq_epochs = sum(r[1]["epochs"] for r in rows)
    halving_epochs = sum(r[2]["epochs"] for r in rows)
    print()
    print(f"Epochs: halving {halving_epochs} / sequential {seq_epochs} = {100 * halving_epochs / seq_epochs:.1f}% (target <= 40%)")
    for seed, sequential, halving in rows:
        same = " (same run)" if halving["pick"] == sequential["pick"] else ""
        print(f"  seed {seed}: halving's pick mAP {halving['pick_mAP']:.4f} vs sequential winner {sequential['pick_mAP']:.4f} "
              f"(difference {halving['pick_mAP'] - sequential['pick_mAP']:+.4f}){same}")
    if len(rows) > 1:
        names = rows[0][1]["maps"].keys()
        spreads = [statistics.stdev([r[1]["maps"][n] for r in rows]) for n in names if all(r[1]["maps"][n] is not None for r in rows)]
        noise = statistics.mean(spreads) if spreads else float("nan")
        gap = statistics.mean(abs(r[2]["pick_mAP"] - r[1]["pick_mAP"]) for r in rows)
        winners = [r[1]["pick_mAP"] for r in rows]
        print(f"Seed-to-seed noise (std over seeds of each remedy's best mAP, mean over remedies): {noise:.4f}; "
              f"std of the sequential winner's mAP over seeds: {statistics.stdev(winners):.4f}")
        print(f"Mean |halving pick - sequential winner| mAP: {gap:.4f} -> {'within' if gap <= noise else 'outside'} the seed-to-seed noise")


if __name__ == "__main__":
    main()
