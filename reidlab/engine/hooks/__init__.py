"""The Trainer's hooks: each chore around the training loop in a module of its own.

`default_hooks(cfg, run)` builds the standard set, in the order they run at every point (the call
order is in `base`). Sweeps add `PauseAfterEpoch`, searches their pruning hook
(reidlab.research.search.pruning), tests whatever they need.
"""

from __future__ import annotations

from reidlab.config import Config
from reidlab.engine.hooks.base import HookBase
from reidlab.engine.hooks.best_model import BestModel
from reidlab.engine.hooks.callback import CallbackHook
from reidlab.engine.hooks.early_stopping import EarlyStopping, EarlyStoppingHook, improves
from reidlab.engine.hooks.epoch_log import EpochLog
from reidlab.engine.hooks.pause import PauseAfterEpoch
from reidlab.engine.hooks.progress_bar import ProgressBar
from reidlab.engine.hooks.run_files import RunFiles
from reidlab.engine.hooks.tensorboard import TensorBoard
from reidlab.engine.hooks.time_limit import TimeLimit
from reidlab.modeling.initial_weights import InitialWeights
from reidlab.rundir import TENSORBOARD_DIR, RunDirectory


def default_hooks(cfg: Config, run: RunDirectory, initial_weights: InitialWeights | None = None) -> list[HookBase]:
    """Best model, early stopping, time limit, run files, TensorBoard, progress bar, log line.

    The best model and early stopping come first, so the checkpoint the run files write after each
    epoch holds their decision about it; the log line comes last and tells it.
    """
    stop = cfg.SOLVER.EARLY_STOP
    early_stopping = EarlyStoppingHook(stop.METRIC, stop.PATIENCE, stop.MIN_DELTA, stop.ENABLED)
    return [
        BestModel(run, stop.METRIC, stop.MIN_DELTA),
        early_stopping,
        TimeLimit(cfg.SOLVER.TIME_LIMIT_MINUTES),
        RunFiles(run, initial_weights.to_dict() if initial_weights else None),
        TensorBoard(run.file(TENSORBOARD_DIR)),
        ProgressBar(),
        EpochLog(early_stopping.tracker),
    ]


__all__ = [
    "BestModel",
    "CallbackHook",
    "EarlyStopping",
    "EarlyStoppingHook",
    "EpochLog",
    "HookBase",
    "PauseAfterEpoch",
    "ProgressBar",
    "RunFiles",
    "TensorBoard",
    "TimeLimit",
    "default_hooks",
    "improves",
]
