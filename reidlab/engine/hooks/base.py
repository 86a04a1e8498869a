"""HookBase: how a chore plugs into the Trainer (the shape of fast-reid's and detectron2's hooks).

The Trainer calls every hook, in list order, at these points:

    before_train()
    for each epoch:
        before_epoch(epoch)
        for each step:  optimiser step, then  after_step(epoch, step)
        evaluation (on evaluation epochs), the record appended to the history
        after_epoch(epoch, record)       record: the epoch's numbers, metrics when evaluated
        -> the processes agree whether to stop
    after_final_evaluation(epoch, record)  only when the time limit or Ctrl-C stopped a run whose
                                         last completed epoch had not been evaluated: it was, now
    after_train(stop)                    always, whatever ended the run

A hook asks to stop with `self.trainer.request_stop(reason, message)`: every process agrees at the
next step or at the end of the epoch, and the run ends with that reason (the highest in
`STOP_PRIORITY` when several are asked). A hook's `state_dict()` rides in last_checkpoint.pth
under its `name`, and `load_state_dict` gets it back on --resume, so resuming stays exact.

To add a hook: subclass HookBase, override the points you need, and pass it to `train(hooks=[...])`
(it runs after the standard set of `default_hooks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from reidlab.config import config_to_yaml
from reidlab.rundir import save_checkpoint

if TYPE_CHECKING:
    from reidlab.engine.stop_reasons import Stop
    from reidlab.engine.trainer import Trainer


class HookBase:
    """Does nothing at every point; subclasses override what they need. `trainer` is set by the Trainer."""

    name = ""  # the key of its state in last_checkpoint.pth; hooks without state keep ""
    trainer: "Trainer"

    def before_train(self) -> None:
        pass

    def before_epoch(self, epoch: int) -> None:
        pass

    def after_step(self, epoch: int, step: int) -> None:
        pass

    def after_epoch(self, epoch: int, record: dict) -> None:
        pass

    def after_final_evaluation(self, epoch: int, record: dict) -> None:
        """The last completed epoch, not evaluated before, was evaluated at a time-limit or Ctrl-C stop; `record` now has its metrics."""

    def after_train(self, stop: "Stop") -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def save_model(trainer: "Trainer", path: Path, kind: str, epoch: int, metrics: dict) -> None:
    """Writes the trainer's weights as a reidlab model checkpoint (best_model.pth or model_final.pth)."""
    save_checkpoint(
        path,
        kind,
        model=trainer.model.state_dict(),
        config=config_to_yaml(trainer.cfg),
        num_classes=trainer.train_data.num_classes,
        epoch=epoch,
        metrics=metrics,
    )
