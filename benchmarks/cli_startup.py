"""How long `reidlab --help` takes and how many modules it loads, in fresh interpreters.

    python benchmarks/cli_startup.py                          # this tree
    python benchmarks/cli_startup.py --tree /path/to/old/checkout --tree .   # before and after, one run

Each tree's reidlab is put first on PYTHONPATH, so an older checkout is measured as it was.
Wall times are the median and the fastest of --repeats runs (the machine's load varies).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CODE = (
    "import json, sys\n"
    "from reidlab.cli.main import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "print(json.dumps({'modules': len(sys.modules), 'torch': 'torch' in sys.modules, 'matplotlib': 'matplotlib' in sys.modules, 'optuna': 'optuna' in sys.modules}), file=sys.stderr)"
)


def measure(tree: Path, argv: list[str], repeats: int) -> tuple[list[float], dict]:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve()) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    times, facts = [], {}
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CODE, *argv], capture_output=True, text=True, env=env, cwd=tree, check=True)  # -c puts the working folder first on sys.path
        times.append(time.perf_counter() - start)
        facts = json.loads(done.stderr.strip().splitlines()[-1])
    return times, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", type=Path, help="a checkout whose reidlab to measure (repeatable; default: this one)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    trees = args.tree or [Path(__file__).resolve().parents[1]]
    for argv in (["--help"], ["train", "--help"]):
        for tree in trees:
            times, facts = measure(tree, argv, args.repeats)
            heavy = [name for name in ("torch", "matplotlib", "optuna") if facts[name]] or ["none"]
            print(
                f"reidlab {' '.join(argv):<13} {str(tree):<30} median {statistics.median(times):5.2f} s  fastest {min(times):5.2f} s  "
                f"{facts['modules']:5d} modules  heavy: {', '.join(heavy)}"
            )


if __name__ == "__main__":
    main()
