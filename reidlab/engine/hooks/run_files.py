"""The run folder's files (rank 0): config.yaml and model_info.json at the start, last_checkpoint.pth and the
history after every epoch, and at the end model_final.pth, model_info.json and STOPPING_REASON.txt."""

from __future__ import annotations

from reidlab.engine.hooks.base import HookBase, save_model
from reidlab.engine.run_info import final_info, initial_info
from reidlab.engine.stop_reasons import Stop
from reidlab.engine.stop_report import stopping_reason_text
from reidlab.rundir import CONFIG_FILE, METRIC_KEYS, RunDirectory, load_checkpoint, save_checkpoint


class RunFiles(HookBase):
    """Keeps the run directory complete whatever ends the run; every file is written atomically."""

    def __init__(self, run: RunDirectory, initial_weights: dict | None = None):
        self.run = run
        self.initial_weights = initial_weights  # what MODEL.WEIGHTS loaded, for model_info.json
        self.info: dict = {}

    @property
    def _writes(self) -> bool:
        return self.trainer.processes.is_main

    def before_train(self) -> None:
        if not self._writes:
            return
        self.info = initial_info(self.trainer, self.run, self.initial_weights)
        self.run.write_config(self.trainer.cfg)
        self.run.write_model_info(self.info)

    def after_epoch(self, epoch: int, record: dict) -> None:
        """Checkpoint before history: a crash between them leaves a checkpoint whose history is the truth."""
        if not self._writes:
            return
        state = self.trainer.checkpoint_state()
        save_checkpoint(self.run.last_checkpoint, "last", **state)
        if epoch % self.trainer.cfg.SOLVER.CHECKPOINT_PERIOD == 0:
            save_checkpoint(self.run.periodic_checkpoint(epoch), "periodic", **state)
        self.run.write_history(self.trainer.state.history)

    def after_final_evaluation(self, epoch: int, record: dict) -> None:
        """last_checkpoint.pth keeps its epoch's weights and optimiser, but gets the history, best and hook states
        that include this evaluation, so --resume knows it (and best_model.pth's mAP)."""
        if not self._writes or not self.run.last_checkpoint.is_file():
            return
        trainer = self.trainer
        saved = {k: v for k, v in load_checkpoint(self.run.last_checkpoint).items() if k not in ("format", "version", "kind")}
        saved.update(history=trainer.state.history, best=trainer.state.best, hooks={hook.name: hook.state_dict() for hook in trainer.hooks if hook.name})
        save_checkpoint(self.run.last_checkpoint, "last", **saved)

    def after_train(self, stop: Stop) -> None:
        if not self._writes:
            return
        trainer = self.trainer
        self._save_final_model()
        self.info = final_info(self.info, trainer, stop)
        self.run.write_history(trainer.state.history)
        self.run.write_model_info(self.info)
        resume_command = f"reidlab train --config-file {(self.run.path / CONFIG_FILE).as_posix()} --resume"
        self.run.write_stopping_reason(stopping_reason_text(stop, trainer.cfg, self.info, trainer.state.history, self.run.path, resume_command))

    def _save_final_model(self) -> None:
        trainer = self.trainer
        last = trainer.state.history[-1] if trainer.state.history else {}
        save_model(trainer, self.run.final_model, "final", trainer.state.epoch, {k: last[k] for k in METRIC_KEYS if k in last})
