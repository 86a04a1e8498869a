"""A training process for the signal and kill -9 tests: `python train_worker.py MARKER EPOCH STEP MODE KEY VALUE ...`.

It trains the demo config with the given overrides; when it reaches (EPOCH, STEP) it writes
MARKER, then either holds there (MODE hold, for kill -9) or goes on slowly (MODE slow, so a
signal arrives mid-epoch), so the test can act at a known point.
"""

import sys
import time
from pathlib import Path

from reidlab.engine.hooks import CallbackHook
from reidlab.engine.train import train


def main() -> int:
    marker, epoch, step, mode, *overrides = sys.argv[1:]
    target = (int(epoch), int(step))

    def pause(trainer, e, s):
        if (e, s) == target:
            Path(marker).write_text("reached")
            time.sleep(120 if mode == "hold" else 0.5)
        elif (e, s) > target:
            time.sleep(0.5)

    return train("configs/Synthetic/demo_R18_cpu.yml", overrides=overrides, hooks=[CallbackHook(after_step=pause)]).exit_code


if __name__ == "__main__":
    sys.exit(main())
