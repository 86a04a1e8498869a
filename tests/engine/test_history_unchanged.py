"""Training numbers stay exactly what they were: a fixed-seed run against a history recorded before a refactor.

`golden_history.json` was written by this module's `python tests/engine/test_history_unchanged.py --write`
on the project's 2-core machine. Timing fields differ run to run and are left out. Float results of
the CPU kernels depend on the instruction set, so on a CPU other than the one that recorded the file
the numbers are compared to 1e-3 and the test says so; on the same CPU and torch, to 1e-6.
"""

from __future__ import annotations

import json
import platform
import sys
import warnings
from pathlib import Path

import pytest
import torch

from reidlab.data import write_synthetic_dataset
from reidlab.engine.train import train

GOLDEN = Path(__file__).with_name("data") / "golden_history.json"
CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
TIMING = {"train_seconds", "images_per_second", "eval_seconds"}
EXACT, LOOSE = 1e-6, 1e-3


def cpu_name() -> str:
    """The CPU model and its vector extensions: what decides the float results of the CPU kernels."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return f"{model} [{' '.join(sorted(f for f in flags if f.startswith(('avx', 'amx'))))}]"


def golden_run(folder: Path) -> list[dict]:
    """Three epochs of the demo config, fp32, one thread, a fixed seed; returns the history without timings."""
    root = folder / "data"
    write_synthetic_dataset(root, num_train_ids=8, num_test_ids=6, images_per_id=4, num_cameras=3, num_distractors=4, num_junk=2, seed=0)
    overrides = {
        "DATASETS.ROOT": root.as_posix(), "OUTPUT_DIR": (folder / "run").as_posix(), "SEED": "7",
        "INPUT.SIZE_TRAIN": "[64, 32]", "INPUT.SIZE_TEST": "[64, 32]", "SOLVER.IMS_PER_BATCH": "8",
        "DATALOADER.NUM_INSTANCE": "2", "SOLVER.MAX_EPOCH": "3", "SOLVER.WARMUP_ITERS": "2", "SOLVER.STEPS": "[2]",
        "TEST.EVAL_PERIOD": "1", "TEST.IMS_PER_BATCH": "32", "SOLVER.AMP.ENABLED": "False",
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(CONFIG, overrides=[item for pair in overrides.items() for item in pair])
    finally:
        torch.set_num_threads(threads)
    assert result.stop.reason.value == "max_epochs", result.stop
    history = json.loads((folder / "run" / "training_history.json").read_text(encoding="utf-8"))
    return [{k: v for k, v in record.items() if k not in TIMING} for record in history]


def test_a_fixed_seed_run_gives_the_recorded_history(tmp_path):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    same_machine = golden["cpu"] == cpu_name() and golden["torch"] == torch.__version__
    tolerance = EXACT if same_machine else LOOSE
    history = golden_run(tmp_path)
    assert [sorted(r) for r in history] == [sorted(r) for r in golden["history"]], "the history's fields changed"
    for now, then in zip(history, golden["history"]):
        for key, value in then.items():
            if isinstance(value, float):
                assert now[key] == pytest.approx(value, rel=tolerance, abs=tolerance * 1e-3), f"epoch {then['epoch']} {key}"
            else:
                assert now[key] == value, f"epoch {then['epoch']} {key}"
    if not same_machine:
        warnings.warn(f"history compared to {LOOSE:g} only: recorded on {golden['cpu']} with torch {golden['torch']}", stacklevel=1)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        record = {"cpu": cpu_name(), "torch": torch.__version__, "history": golden_run(Path(scratch))}
    GOLDEN.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
