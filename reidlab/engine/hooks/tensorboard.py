"""TensorBoard scalars of each epoch's record, the rank lists of the worst queries at each new best epoch
(the Images tab), and at the end the run's hyperparameters against its best mAP and rank-1 (the HParams
tab then compares runs), when the optional `tensorboard` extra is installed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from reidlab.engine.hooks.base import HookBase
from reidlab.engine.inference import ranking_features
from reidlab.evaluation.rank_pictures import worst_query_sheet
from reidlab.rundir import hyperparameters

WORST_QUERIES_TAG = "worst_queries"


class TensorBoard(HookBase):
    """Writes every numeric field of each epoch record under log_dir (rank 0 only); does nothing without the extra."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.writer = None

    def before_train(self) -> None:
        if not self.trainer.processes.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # the extra is optional
            return
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def after_final_evaluation(self, epoch: int, record: dict) -> None:
        self.after_epoch(epoch, record)  # the epoch's scalars again, now with its metrics (and its worst queries if a new best)

    def after_epoch(self, epoch: int, record: dict) -> None:
        if self.writer is None:
            return
        for name, value in record.items():
            if name != "epoch" and isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(name, value, epoch)
        best = self.trainer.state.best
        if best and best["epoch"] == epoch:
            self._add_worst_queries(epoch)
        self.writer.flush()

    def _add_worst_queries(self, epoch: int) -> None:
        """The 20 lowest-AP queries' top-10 of the first test set, ranked by plain distances (as `reidlab visualize`)."""
        trainer = self.trainer
        features, evaluation = trainer.last_features, trainer.last_evaluation
        if features is None or evaluation is None:
            return
        test_set, cfg = trainer.test_sets[0], trainer.cfg
        if not test_set.paths:
            return
        query, gallery = ranking_features(cfg, features, test_set.num_query)
        sheet = worst_query_sheet(evaluation.per_query, query, gallery, cfg.TEST.METRIC, test_set.paths, test_set.pids, test_set.camids)
        if sheet is not None:
            self.writer.add_image(WORST_QUERIES_TAG, np.asarray(sheet), epoch, dataformats="HWC")

    def after_train(self, stop) -> None:
        if self.writer is None:
            return
        best = self.trainer.state.best
        if best:
            values = {key: value if isinstance(value, (bool, int, float, str)) else str(value) for key, value in hyperparameters(self.trainer.cfg).items()}
            self.writer.add_hparams(values, {"hparam/best_mAP": best["mAP"], "hparam/best_rank1": best["rank1"]}, run_name=".")
        self.writer.close()
        self.writer = None
