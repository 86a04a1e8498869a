"""The evaluation a run owes at a clean early stop: when the time limit or Ctrl-C ends a run whose last
completed epoch was never evaluated (TEST.EVAL_PERIOD had not come round), that epoch is evaluated
at the stop, so the run does not end with a stale best mAP, or with none.

The weights evaluated are those of the last completed epoch (kept in memory after each epoch); a
stop within the next epoch puts them back, so model_final.pth is that epoch too, as its record
says. The hooks hear of the result through `after_final_evaluation`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch
from torch import nn

from reidlab.engine.stop_reasons import Stop, StopReason

if TYPE_CHECKING:
    from reidlab.engine.trainer import Trainer

FINAL_EVALUATION_REASONS = (StopReason.TIME_LIMIT, StopReason.INTERRUPTED)


class CompletedEpochWeights:
    """A CPU copy of the model's weights at the end of the last completed epoch."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self._state: dict[str, torch.Tensor] = {}

    def keep(self, model: nn.Module, epoch: int) -> None:
        self._state = {name: value.detach().to("cpu", copy=True) for name, value in model.state_dict().items()}
        self.epoch = epoch

    def restore(self, model: nn.Module) -> None:
        model.load_state_dict(self._state)


def finish_last_epoch(trainer: "Trainer", stop: Stop) -> Stop:
    """After a time-limit or Ctrl-C stop: the last completed epoch's weights, evaluated if they were not; the stop's message says what was done."""
    history = trainer.state.history
    if stop.reason not in FINAL_EVALUATION_REASONS or not history or trainer.completed_weights.epoch != history[-1]["epoch"]:
        return stop
    record = history[-1]
    if trainer.state.iteration > record["iterations"]:  # stopped within the next epoch: back to the completed one
        trainer.completed_weights.restore(trainer.model)
    if "mAP" in record or not trainer.test_sets:
        return stop
    epoch = record["epoch"]
    try:
        record.update(trainer.evaluate())
    except KeyboardInterrupt:  # a second Ctrl-C: the user wants out now
        return replace(stop, message=f"{stop.message} Epoch {epoch} was never evaluated: a second Ctrl-C skipped its evaluation at the stop.")
    except Exception as exc:  # noqa: BLE001 - e.g. non-finite features: the stop stands, with what went wrong
        return replace(stop, message=f"{stop.message} Evaluating epoch {epoch} at the stop failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    record["final_evaluation"] = True
    for hook in trainer.hooks:
        hook.after_final_evaluation(epoch, record)
    return replace(stop, message=f"{stop.message} Epoch {epoch} had not been evaluated, so it was evaluated at the stop: mAP {record['mAP']:.4f}, rank-1 {record['rank1']:.4f}.")
