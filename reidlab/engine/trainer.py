"""The Trainer core: the optimiser step, the epoch loop, evaluation, and the mapping from every way a
run can end to its stop reason.

Every other chore is a hook (reidlab.engine.hooks): run files, best model, early stopping, time
limit, TensorBoard, the log line and progress bar, a sweep's pause, a search's pruning. The call
order is in reidlab.engine.hooks.base.
"""

from __future__ import annotations

import math
import time
import traceback
import weakref
from typing import Iterable

import torch
from torch import nn

from reidlab.config import Config, config_to_yaml
from reidlab.data.prefetch import prefetched_for
from reidlab.engine.amp import AmpSettings
from reidlab.engine.console import get_logger
from reidlab.engine.distributed import SINGLE_PROCESS, Processes
from reidlab.engine.final_evaluation import CompletedEpochWeights, finish_last_epoch
from reidlab.engine.health import ParameterSnapshot, gradient_norm
from reidlab.engine.hooks.base import HookBase
from reidlab.engine.inference import NonFiniteFeatures, evaluate_test_sets
from reidlab.engine.lr_schedule import build_lr_scheduler
from reidlab.engine.optimizer import build_optimizer
from reidlab.engine.signals import StopFlag, stop_on_signals
from reidlab.engine.stop_reasons import Stop, StopReason, StopRequested
from reidlab.engine.train_state import EpochProgress, TrainState
from reidlab.evaluation import EvaluationResult
from reidlab.modeling import FrozenLayers, compute_losses, param_groups_spec

OutOfMemory = (getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), MemoryError)
# When several ends are wanted at once, the first of these wins (a signal beats the time limit, ...).
STOP_PRIORITY = (StopReason.PRUNED, StopReason.PATIENCE_EXHAUSTED, StopReason.INTERRUPTED, StopReason.TIME_LIMIT, StopReason.DIVERGED, StopReason.PAUSED)


def is_evaluation_epoch(cfg: Config, epoch: int) -> bool:
    """Every TEST.EVAL_PERIOD epochs, and always the last one."""
    return epoch % cfg.TEST.EVAL_PERIOD == 0 or epoch == cfg.SOLVER.MAX_EPOCH


def evaluation_epochs(cfg: Config) -> list[int]:
    """Epochs the Trainer evaluates, in order."""
    return [e for e in range(1, cfg.SOLVER.MAX_EPOCH + 1) if is_evaluation_epoch(cfg, e)]


class _Stopping(Exception):
    """Unwinds the loop once every process has agreed on a stop reason."""

    def __init__(self, reason: StopReason, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


class Trainer:
    """Runs epochs until a stop reason; the hooks keep the run directory and everything else around it."""

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        train_data,
        test_sets: list,
        device: torch.device,
        hooks: Iterable[HookBase] = (),
        processes: Processes = SINGLE_PROCESS,
    ):
        """model is the plain module (saved, evaluated); under torchrun the training step calls its DDP wrapper."""
        self.cfg, self.model, self.device = cfg, model, device
        self.train_data, self.test_sets = train_data, test_sets
        self.processes = processes
        self.train_model = processes.wrap(model, cfg)
        self.eval_loaders = [t.loader.shard(processes.rank, processes.world_size) if processes.enabled else t.loader for t in test_sets]
        self.stop_flag = StopFlag()
        self.log = get_logger()
        self.iters_per_epoch = len(train_data.loader)
        self.optimizer = build_optimizer(cfg, model)
        self.scheduler = build_lr_scheduler(cfg, self.optimizer, self.iters_per_epoch)
        self.amp = AmpSettings.for_device(cfg.SOLVER.AMP.ENABLED, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp.uses_grad_scaler)
        self.state = TrainState()
        every_param = param_groups_spec(model, trainable_only=False)  # frozen layers must show as unchanged
        self.param_groups = {kind: [s.param for s in every_param if s.kind == kind] for kind in ("backbone", "head")}
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.frozen = FrozenLayers(model, cfg.MODEL.FREEZE_LAYERS if cfg.SOLVER.FREEZE_ITERS else [])
        self.session_start = time.monotonic()
        self.elapsed_at_session_start = 0.0
        self.resumed = False
        self.progress: EpochProgress | None = None
        self.last_evaluation: EvaluationResult | None = None  # the first test set's result of this epoch's evaluation
        self.last_features: torch.Tensor | None = None  # and its features (query rows, then gallery), on rank 0
        self.requests: dict[StopReason, str] = {}
        self.completed_weights = CompletedEpochWeights()  # for a stop within an epoch (final_evaluation.py)
        self.hooks = list(hooks)
        for hook in self.hooks:
            # A proxy, as detectron2 does: a cycle trainer <-> hook would keep the loaders' worker processes
            # alive until the garbage collector runs, and a process exiting meanwhile would wait on them for ever.
            hook.trainer = weakref.proxy(self)

    # ------------------------------------------------------------ hooks and stopping
    def request_stop(self, reason: StopReason, message: str) -> None:
        """Ask to end the run; every process agrees at the next step or at the end of the epoch. The latest message wins."""
        self.requests[reason] = message

    def _call(self, point: str, *args) -> None:
        for hook in self.hooks:
            getattr(hook, point)(*args)

    def _agree_to_stop(self, loss_is_finite: bool = True) -> StopReason | None:
        """The stop every process agrees on (one collective): a signal, a hook's request, a non-finite loss; None to go on."""
        wanted = {StopReason.INTERRUPTED: bool(self.stop_flag), StopReason.DIVERGED: not loss_is_finite}
        agreed = self.processes.any(*(wanted.get(reason, reason in self.requests) for reason in STOP_PRIORITY))
        return next((reason for reason, yes in zip(STOP_PRIORITY, agreed) if yes), None)

    def _stop_message(self, reason: StopReason) -> str:
        if reason is StopReason.INTERRUPTED:
            name = self.stop_flag.signal_name or "a stop signal (in another process)"
            return f"Received {name}; the last completed epoch is {self.state.epoch}."
        return self.requests.get(reason) or f"Asked to stop ({reason.value}) in another process; the last completed epoch is {self.state.epoch}."

    # ------------------------------------------------------------ resume
    def checkpoint_state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "hooks": {hook.name: hook.state_dict() for hook in self.hooks if hook.name},
            "epoch": self.state.epoch,
            "iteration": self.state.iteration,
            "elapsed_seconds": self.elapsed_seconds(),
            "history": self.state.history,
            "best": self.state.best,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "config": config_to_yaml(self.cfg),
            "num_classes": self.train_data.num_classes,
        }

    def load_checkpoint_state(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        hook_states = ckpt.get("hooks", {"early_stopping": ckpt.get("early_stopping")})  # checkpoints before hooks had one state
        for hook in self.hooks:
            if hook.name and hook_states.get(hook.name) is not None:
                hook.load_state_dict(hook_states[hook.name])
        self.state = TrainState(ckpt["epoch"], ckpt["iteration"], ckpt["elapsed_seconds"], list(ckpt["history"]), ckpt["best"])
        self.elapsed_at_session_start = ckpt["elapsed_seconds"]
        self.completed_weights.keep(self.model, self.state.epoch)  # a stop in the first resumed epoch goes back to these
        self.resumed = True
        torch.set_rng_state(ckpt["torch_rng"])
        if ckpt.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])

    def elapsed_seconds(self) -> float:
        return self.elapsed_at_session_start + (time.monotonic() - self.session_start)

    # ------------------------------------------------------------ the loop
    def fit(self) -> Stop:
        """Train until a stop reason; never raises for a training failure, it becomes the Stop."""
        self.session_start = time.monotonic()
        self._call("before_train")
        # Under torchrun a Ctrl-C reaches each process twice (terminal and torchrun): a repeat must not abort mid-collective.
        with stop_on_signals(escalate=not self.processes.enabled) as flag:
            self.stop_flag = flag
            stop = finish_last_epoch(self, self._run_epochs())
        self._call("after_train", stop)
        return stop

    def _run_epochs(self) -> Stop:
        max_epoch = self.cfg.SOLVER.MAX_EPOCH
        try:
            if self.state.epoch >= max_epoch:
                return Stop(StopReason.MAX_EPOCHS, f"All {max_epoch} epochs were already done.", self.state.epoch)
            while self.state.epoch < max_epoch:
                self._run_epoch(self.state.epoch + 1)
            return Stop(StopReason.MAX_EPOCHS, f"Trained all {max_epoch} epochs.", self.state.epoch)
        except _Stopping as exc:
            return Stop(exc.reason, exc.message, self.state.epoch + (1 if exc.reason is StopReason.DIVERGED else 0))
        except StopRequested as exc:
            return Stop(exc.reason, exc.message, self.state.epoch)
        except KeyboardInterrupt:
            return Stop(StopReason.INTERRUPTED, f"Received SIGINT; the last completed epoch is {self.state.epoch}.", self.state.epoch)
        except NonFiniteFeatures as exc:
            return Stop(StopReason.DIVERGED, f"Evaluation after epoch {self.state.epoch + 1}: {exc}.", self.state.epoch + 1)
        except OutOfMemory as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return Stop(
                StopReason.OUT_OF_MEMORY,
                f"{type(exc).__name__} at epoch {self.state.epoch + 1} with SOLVER.IMS_PER_BATCH {self.cfg.SOLVER.IMS_PER_BATCH}, "
                f"INPUT.SIZE_TRAIN {self.cfg.INPUT.SIZE_TRAIN}: {first[:200]}",
                self.state.epoch + 1,
            )
        except Exception as exc:  # any other failure still ends in a complete run directory
            self.log.info("Traceback of the error that stopped training:\n%s", traceback.format_exc().rstrip())
            first = (str(exc).strip().splitlines() or [""])[0]
            return Stop(StopReason.ERROR, f"{type(exc).__name__}: {first[:300]}", self.state.epoch + 1)

    def _run_epoch(self, epoch: int) -> None:
        self._call("before_epoch", epoch)
        record = self._train_epoch(epoch)
        self.last_evaluation = self.last_features = None
        if is_evaluation_epoch(self.cfg, epoch):
            record.update(self.evaluate())
        self.state.history.append(record)
        self.state.epoch = epoch
        self.completed_weights.keep(self.model, epoch)
        self._call("after_epoch", epoch, record)
        reason = self._agree_to_stop()
        if reason is not None:
            raise _Stopping(reason, self._stop_message(reason))

    def evaluate(self) -> dict:
        """The model's metrics on the test sets now, and eval_seconds; sets last_evaluation and last_features."""
        start = time.monotonic()
        self.processes.share_buffers(self.model)
        metrics, self.last_evaluation, self.last_features = evaluate_test_sets(self.cfg, self.model, self.test_sets, self.eval_loaders, self.device, self.amp, self.processes)
        return {**metrics, "eval_seconds": time.monotonic() - start}

    def _train_epoch(self, epoch: int) -> dict:
        self.train_model.train()
        if self._freezing:
            self.frozen.set_norm_eval()
        loader = self.train_data.loader
        loader.set_epoch(epoch)
        snapshot = ParameterSnapshot(self.param_groups)
        self.progress = progress = EpochProgress(epoch)
        batches = prefetched_for(loader, self.device)
        try:
            for step, batch in enumerate(batches):
                images = batch.images.to(self.device, non_blocking=True)
                targets = batch.targets.to(self.device, non_blocking=True)
                progress.add(self.train_step(images, targets, epoch, step), images.shape[0])
                self._call("after_step", epoch, step)
        finally:
            batches.close()  # ends the prefetch thread now, even when the epoch ends early
        seconds = time.monotonic() - progress.start
        steps = max(self.iters_per_epoch, 1)
        images_seen = progress.images * self.processes.world_size  # every rank takes an equal share of each batch
        record = {"epoch": epoch, "iterations": self.state.iteration, "lr": self.current_lr()}
        record.update({name: value / steps for name, value in self.processes.mean(progress.sums).items()})
        finite_steps = 1.0 - record["nonfinite_grad_fraction"]
        record["grad_norm"] = record["grad_norm"] / finite_steps if finite_steps > 0 else None
        record.update(snapshot.changes())
        record.update({"train_seconds": seconds, "images_per_second": images_seen / seconds if seconds > 0 else 0.0})
        return record

    @property
    def _freezing(self) -> bool:
        """Within the first SOLVER.FREEZE_ITERS iterations, while MODEL.FREEZE_LAYERS stay fixed."""
        return bool(self.frozen) and self.state.iteration < self.cfg.SOLVER.FREEZE_ITERS

    def train_step(self, images: torch.Tensor, targets: torch.Tensor, epoch: int = 0, step: int = 0) -> dict:
        """One optimiser step; returns the loss (a float) and the terms and health statistics (device tensors)."""
        if self.frozen and self.state.iteration == self.cfg.SOLVER.FREEZE_ITERS and self.model.training:
            self.train_model.train()  # the frozen period is over: BatchNorm statistics move again
            self.log.info("MODEL.FREEZE_LAYERS %s train from iteration %d on", self.frozen.names, self.state.iteration + 1)
        with torch.autocast(self.device.type, dtype=self.amp.dtype, enabled=self.amp.enabled):
            outputs = self.train_model(images)
        total, terms, stats = compute_losses(self.cfg, outputs, targets, self.processes.whole_batch if self.processes.enabled else None)
        loss_value = total.detach().item()
        # One collective per step, before backward: every rank stops together or none does.
        reason = self._agree_to_stop(math.isfinite(loss_value))
        if reason is StopReason.DIVERGED:
            raise _Stopping(reason, self._divergence_message(epoch, step, loss_value, terms))
        if reason is not None:
            raise _Stopping(reason, self._stop_message(reason))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if self._freezing:
            self.frozen.drop_gradients()  # the optimiser skips parameters without a gradient: no update, no decay
        self.scaler.unscale_(self.optimizer)
        grad_norm = gradient_norm(self.trainable)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.state.iteration += 1
        # Epoch means of these: grad_norm over the steps with finite gradients, and the fraction of steps
        # with inf/NaN gradients (which an fp16 GradScaler skips).
        nonfinite = (~torch.isfinite(grad_norm)).float()
        return {"loss": loss_value, **terms, **stats, "grad_norm": grad_norm, "nonfinite_grad_fraction": nonfinite}

    def current_lr(self) -> float:
        return max(group["lr"] for group in self.optimizer.param_groups)

    def _divergence_message(self, epoch: int, step: int, loss: float, terms: dict) -> str:
        if math.isfinite(loss):
            return f"Loss became non-finite in another process at epoch {epoch}, iteration {step + 1} (this process: {loss:.4g}; lr {self.current_lr():.3g})."
        parts = ", ".join(f"{k} {v.detach().item():.4g}" for k, v in terms.items())
        last = self.state.history[-1]["loss"] if self.state.history else None
        before = f"; the previous epoch's mean loss was {last:.4f}" if last is not None else ""
        return f"Loss became {loss} at epoch {epoch}, iteration {step + 1} ({parts}; lr {self.current_lr():.3g}){before}."
