"""best_model.pth and eval/best_per_query.npz: written whenever the watched metric reaches a new best."""

from __future__ import annotations

from reidlab.engine.hooks.base import HookBase, save_model
from reidlab.engine.hooks.early_stopping import improves
from reidlab.rundir import BEST_PER_QUERY_FILE, METRIC_KEYS, RunDirectory, save_npz_atomic


class BestModel(HookBase):
    """Keeps trainer.state.best (the best evaluated epoch's metrics) and, on rank 0, its weights and per-query results.

    A new best must beat the old one by more than min_delta, the rule early stopping counts by,
    so best_model.pth is the epoch early stopping calls the best.
    """

    def __init__(self, run: RunDirectory, metric: str = "mAP", min_delta: float = 0.0):
        self.run, self.metric, self.min_delta = run, metric, min_delta

    def after_final_evaluation(self, epoch: int, record: dict) -> None:
        self.after_epoch(epoch, record)  # one more evaluation of that epoch, by the usual rule

    def after_epoch(self, epoch: int, record: dict) -> None:
        trainer = self.trainer
        best = trainer.state.best
        if self.metric not in record or not improves(record[self.metric], best[self.metric] if best else None, self.min_delta):
            return
        trainer.state.best = {"epoch": epoch, **{k: record[k] for k in METRIC_KEYS}}
        if not trainer.processes.is_main:
            return
        save_model(trainer, self.run.best_model, "best", epoch, trainer.state.best)
        save_npz_atomic(self.run.file(BEST_PER_QUERY_FILE), {**trainer.last_evaluation.per_query.to_arrays(), "epoch": epoch})
