"""`reidlab demo`: the whole training story on a built-in synthetic data set, on the CPU, in minutes."""

from __future__ import annotations

import time
from pathlib import Path

from reidlab.data import synth_main
from reidlab.engine.train import train
from reidlab.rundir import STOPPING_REASON_FILE

DEMO_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


def run_demo(out_dir: str | Path = "reidlab_demo") -> int:
    """Write the synthetic set (once), train the demo config into a fresh run folder, show the outcome."""
    start = time.monotonic()
    out = Path(out_dir)
    data_root = out / "data"
    if not (data_root / "Market-1501-v15.09.15").is_dir():
        print(f"Writing the synthetic data set to {data_root} ...")
        synth_main(data_root)
    logs = out / "logs" / "synthetic"
    run_name = _next_free_name(logs, "demo")
    result = train(
        DEMO_CONFIG,
        run_name=None,
        overrides=["DATASETS.ROOT", data_root.as_posix(), "OUTPUT_DIR", (logs / run_name).as_posix()],
    )
    minutes = (time.monotonic() - start) / 60
    print()
    print(f"Demo finished in {minutes:.1f} minutes. Run directory: {result.run_dir}")
    print(f"--- {result.run_dir / STOPPING_REASON_FILE} ---")
    print((result.run_dir / STOPPING_REASON_FILE).read_text(encoding="utf-8"))
    return result.exit_code


def _next_free_name(parent: Path, stem: str) -> str:
    index = 1
    while (parent / f"{stem}_{index}").exists():
        index += 1
    return f"{stem}_{index}"
