"""The log line of each epoch: losses, learning rate, speed, gradient and update health, and the metrics when evaluated."""

from __future__ import annotations

from reidlab.engine.hooks.base import HookBase
from reidlab.engine.hooks.early_stopping import EarlyStopping


class EpochLog(HookBase):
    """One line per epoch in the console and log.txt; with `patience`, the best so far and the patience count too."""

    def __init__(self, patience: EarlyStopping | None = None):
        self.patience = patience

    def after_epoch(self, epoch: int, record: dict) -> None:
        trainer = self.trainer
        losses = " ".join(f"{k} {record[k]:.4f}" for k in record if k.startswith("loss"))
        text = (
            f"epoch {epoch}/{trainer.cfg.SOLVER.MAX_EPOCH}  {losses}  lr {record['lr']:.2e}  "
            f"{record['images_per_second']:.0f} img/s  {gradient_text(record)}  "
            f"update backbone {record['update_ratio_backbone']:.2e} head {record['update_ratio_head']:.2e}"
        )
        if "mAP" in record:
            text += f"  |  mAP {record['mAP']:.4f} rank-1 {record['rank1']:.4f} mINP {record['mINP']:.4f}"
            if self.patience is not None:
                early = self.patience
                text += f"  (best {early.best:.4f} @ {early.best_epoch}, patience {early.evaluations_without_improvement}/{early.patience})"
        trainer.log.info(text)

    def after_final_evaluation(self, epoch: int, record: dict) -> None:
        self.trainer.log.info("epoch %d, evaluated at the stop (it had not been):  mAP %.4f rank-1 %.4f mINP %.4f", epoch, record["mAP"], record["rank1"], record["mINP"])


def gradient_text(record: dict) -> str:
    """The epoch's mean gradient norm, and how many steps had inf/NaN gradients (an fp16 GradScaler skips those)."""
    skipped = record["nonfinite_grad_fraction"]
    if record["grad_norm"] is None:
        return "grad_norm inf/NaN in every step"
    return f"grad_norm {record['grad_norm']:.3g}" + (f" ({skipped:.0%} of steps inf/NaN)" if skipped > 0 else "")
