"""The training loop: epochs, evaluation, model selection, early stopping, and every way a run can end."""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from tqdm import tqdm

from reidlab.config import Config, config_to_yaml
from reidlab.data.prefetch import prefetched_for
from reidlab.engine.amp import AmpSettings
from reidlab.engine.console import get_logger
from reidlab.engine.distributed import SINGLE_PROCESS, Processes
from reidlab.engine.early_stopping import EarlyStopping
from reidlab.engine.health import ParameterSnapshot, gradient_norm
from reidlab.engine.inference import NonFiniteFeatures, check_finite, metrics_from_features, model_features
from reidlab.engine.lr_schedule import build_lr_scheduler
from reidlab.engine.optimizer import build_optimizer
from reidlab.engine.signals import StopFlag, stop_on_signals
from reidlab.engine.stop_reasons import Stop, StopReason, StopRequested
from reidlab.engine.tensorboard import TensorBoardScalars
from reidlab.modeling import FrozenLayers, compute_losses, param_groups_spec
from reidlab.rundir import BEST_PER_QUERY_FILE, TENSORBOARD_DIR, RunDirectory, save_checkpoint, save_npz_atomic

OutOfMemory = (getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), MemoryError)
METRIC_KEYS = ("mAP", "rank1", "rank5", "rank10", "mINP")


def is_evaluation_epoch(cfg: Config, epoch: int) -> bool:
    """Every TEST.EVAL_PERIOD epochs, and always the last one."""
    return epoch % cfg.TEST.EVAL_PERIOD == 0 or epoch == cfg.SOLVER.MAX_EPOCH


def evaluation_epochs(cfg: Config) -> list[int]:
    """Epochs the Trainer evaluates, in order."""
    return [e for e in range(1, cfg.SOLVER.MAX_EPOCH + 1) if is_evaluation_epoch(cfg, e)]


class _Interrupted(Exception):
    pass


class _Diverged(Exception):
    pass


class _TimeUp(Exception):
    pass


@dataclass
class Hooks:
    """Extension points. on_iteration runs after every optimiser step with (trainer, epoch, iteration_in_epoch);
    on_epoch_end after every epoch's files are written, with (trainer, epoch, record), where record holds
    the metrics when the epoch was evaluated. Either may raise StopRequested to end the run cleanly."""

    on_iteration: Callable[["Trainer", int, int], None] | None = None
    on_epoch_end: Callable[["Trainer", int, dict], None] | None = None


@dataclass
class TrainState:
    """Everything that must survive a resume besides the torch objects' own state."""

    epoch: int = 0  # last completed epoch (1-based)
    iteration: int = 0  # global optimiser steps done
    elapsed_seconds: float = 0.0  # training wall time over all sessions of this run
    history: list[dict] = field(default_factory=list)
    best: dict | None = None


class Trainer:
    """Runs epochs until one of the stop reasons, keeping the run directory complete as it goes."""

    def __init__(
        self,
        cfg: Config,
        run: RunDirectory,
        model: nn.Module,
        train_data,
        test_sets: list,
        device: torch.device,
        hooks: Hooks | None = None,
        processes: Processes = SINGLE_PROCESS,
    ):
        """model is the plain module (saved, evaluated); under torchrun the training step calls its DDP wrapper."""
        self.cfg, self.run, self.model, self.device = cfg, run, model, device
        self.train_data, self.test_sets = train_data, test_sets
        self.hooks = hooks or Hooks()
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
        stop_cfg = cfg.SOLVER.EARLY_STOP
        self.early = EarlyStopping(stop_cfg.PATIENCE, stop_cfg.MIN_DELTA, stop_cfg.ENABLED)
        self.state = TrainState()
        every_param = param_groups_spec(model, trainable_only=False)  # frozen layers must show as unchanged
        self.param_groups = {kind: [s.param for s in every_param if s.kind == kind] for kind in ("backbone", "head")}
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.frozen = FrozenLayers(model, cfg.MODEL.FREEZE_LAYERS if cfg.SOLVER.FREEZE_ITERS else [])
        self.session_start = time.monotonic()
        self.elapsed_at_session_start = 0.0

    # ------------------------------------------------------------ resume
    def checkpoint_state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "early_stopping": self.early.state_dict(),
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
        self.early.load_state_dict(ckpt["early_stopping"])
        self.state = TrainState(ckpt["epoch"], ckpt["iteration"], ckpt["elapsed_seconds"], list(ckpt["history"]), ckpt["best"])
        self.elapsed_at_session_start = ckpt["elapsed_seconds"]
        torch.set_rng_state(ckpt["torch_rng"])
        if ckpt.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])

    def elapsed_seconds(self) -> float:
        return self.elapsed_at_session_start + (time.monotonic() - self.session_start)

    # ------------------------------------------------------------ the loop
    def fit(self, until_epoch: int | None = None) -> Stop:
        """Train until a stop reason; never raises for a training failure, it becomes the Stop.

        until_epoch pauses the run after that epoch (a sweep's rung) without touching the schedule,
        which still runs to SOLVER.MAX_EPOCH when the run is resumed.
        """
        self.session_start = time.monotonic()
        self.tensorboard = TensorBoardScalars(self.run.file(TENSORBOARD_DIR) if self.processes.is_main else None)
        max_epoch = self.cfg.SOLVER.MAX_EPOCH
        # Under torchrun a Ctrl-C reaches each process twice (terminal and torchrun): a repeat must not abort mid-collective.
        with stop_on_signals(escalate=not self.processes.enabled) as flag:
            self.stop_flag = flag
            try:
                if self.state.epoch >= max_epoch:
                    return Stop(StopReason.MAX_EPOCHS, f"All {max_epoch} epochs were already done.", self.state.epoch)
                while self.state.epoch < max_epoch:
                    epoch = self.state.epoch + 1
                    record = self._train_epoch(epoch)
                    if is_evaluation_epoch(self.cfg, epoch):
                        record.update(self._evaluate(epoch))
                    self.state.history.append(record)
                    self.state.epoch = epoch
                    if self.processes.is_main:
                        self._end_of_epoch_files(epoch)
                        self.tensorboard.write_epoch(record)
                    self._log_epoch(record)
                    if self.hooks.on_epoch_end is not None:
                        self.hooks.on_epoch_end(self, epoch, record)
                    if self.early.should_stop:
                        return Stop(
                            StopReason.PATIENCE_EXHAUSTED,
                            f"Best {self._metric_name} {self.early.best:.4f} at epoch {self.early.best_epoch}; "
                            f"no improvement above {self.cfg.SOLVER.EARLY_STOP.MIN_DELTA:g} in the {self.early.evaluations_without_improvement} evaluations since.",
                            epoch,
                        )
                    self._agree_to_stop()
                    if until_epoch is not None and epoch >= until_epoch and epoch < max_epoch:
                        return Stop(StopReason.PAUSED, f"Paused after epoch {epoch} as asked; resume to continue towards epoch {max_epoch}.", epoch)
                return Stop(StopReason.MAX_EPOCHS, f"Trained all {max_epoch} epochs.", self.state.epoch)
            except (_Interrupted, KeyboardInterrupt) as exc:
                name = str(exc) or "SIGINT"
                return Stop(StopReason.INTERRUPTED, f"Received {name}; the last completed epoch is {self.state.epoch}.", self.state.epoch)
            except StopRequested as exc:
                return Stop(exc.reason, exc.message, self.state.epoch)
            except _TimeUp as exc:
                return Stop(StopReason.TIME_LIMIT, str(exc), self.state.epoch)
            except _Diverged as exc:
                return Stop(StopReason.DIVERGED, str(exc), self.state.epoch + 1)
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
            finally:
                self.tensorboard.close()

    @property
    def _metric_name(self) -> str:
        return self.cfg.SOLVER.EARLY_STOP.METRIC

    def _time_is_up(self) -> bool:
        limit = self.cfg.SOLVER.TIME_LIMIT_MINUTES
        return bool(limit) and self.elapsed_seconds() >= limit * 60

    def _agree_to_stop(self, loss_is_finite: bool = True) -> bool:
        """Raise the stop every rank agrees on (signal, time limit); returns whether any rank's loss is not finite."""
        signalled, time_up, not_finite = self.processes.any(bool(self.stop_flag), self._time_is_up(), not loss_is_finite)
        if signalled:
            raise _Interrupted(self.stop_flag.signal_name or "a stop signal (in another process)")
        if time_up:
            raise _TimeUp(f"{self.elapsed_seconds() / 60:.1f} minutes elapsed; the last completed epoch is {self.state.epoch}.")
        return not_finite

    def _train_epoch(self, epoch: int) -> dict:
        cfg = self.cfg
        self.train_model.train()
        if self._freezing:
            self.frozen.set_norm_eval()
        loader = self.train_data.loader
        loader.set_epoch(epoch)
        snapshot = ParameterSnapshot(self.param_groups)
        sums: dict[str, torch.Tensor | float] = {}
        images_seen, start = 0, time.monotonic()
        bar = tqdm(
            total=self.iters_per_epoch,
            desc=f"epoch {epoch}/{cfg.SOLVER.MAX_EPOCH}",
            leave=False,
            disable=None if self.processes.is_main else True,
            dynamic_ncols=True,
        )
        batches = prefetched_for(loader, self.device)
        try:
            for step, batch in enumerate(batches):
                images = batch.images.to(self.device, non_blocking=True)
                targets = batch.targets.to(self.device, non_blocking=True)
                values = self.train_step(images, targets, epoch, step)
                images_seen += images.shape[0]
                _accumulate(sums, values)
                if self.hooks.on_iteration is not None:
                    self.hooks.on_iteration(self, epoch, step)
                if step % 10 == 0 or step + 1 == self.iters_per_epoch:
                    bar.set_postfix_str(self._progress_text(sums, step + 1, images_seen, start, epoch))
                bar.update(1)
        finally:
            batches.close()  # ends the prefetch thread now, even when the epoch ends early
            bar.close()
        seconds = time.monotonic() - start
        steps = max(self.iters_per_epoch, 1)
        images_seen *= self.processes.world_size  # every rank takes an equal share of each batch
        record = {"epoch": epoch, "iterations": self.state.iteration, "lr": self._current_lr()}
        record.update({name: value / steps for name, value in self.processes.mean(sums).items()})
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
        if self._agree_to_stop(math.isfinite(loss_value)):
            raise _Diverged(self._divergence_message(epoch, step, loss_value, terms))
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

    def _progress_text(self, sums: dict, steps: int, images: int, start: float, epoch: int) -> str:
        seconds = max(time.monotonic() - start, 1e-9)
        epochs_left = self.cfg.SOLVER.MAX_EPOCH - epoch + (1 - steps / max(self.iters_per_epoch, 1))
        eta = epochs_left * self.iters_per_epoch * seconds / steps
        return f"loss {float(sums['loss']) / steps:.3f} lr {self._current_lr():.2e} {images / seconds:.0f} img/s run ETA {_format_seconds(eta)}"

    def _current_lr(self) -> float:
        return max(group["lr"] for group in self.optimizer.param_groups)

    def _divergence_message(self, epoch: int, step: int, loss: float, terms: dict) -> str:
        if math.isfinite(loss):
            return f"Loss became non-finite in another process at epoch {epoch}, iteration {step + 1} (this process: {loss:.4g}; lr {self._current_lr():.3g})."
        parts = ", ".join(f"{k} {v.detach().item():.4g}" for k, v in terms.items())
        last = self.state.history[-1]["loss"] if self.state.history else None
        before = f"; the previous epoch's mean loss was {last:.4f}" if last is not None else ""
        return f"Loss became {loss} at epoch {epoch}, iteration {step + 1} ({parts}; lr {self._current_lr():.3g}){before}."

    # ------------------------------------------------------------ evaluation and selection
    def _evaluate(self, epoch: int) -> dict:
        start = time.monotonic()
        out: dict = {}
        primary = None
        self.processes.share_buffers(self.model)
        for index, (test_set, loader) in enumerate(zip(self.test_sets, self.eval_loaders)):
            features = self.processes.gather_rows(model_features(self.model, loader, self.device, self.amp, self.cfg.TEST.FLIP.ENABLED))
            result = self.processes.on_main(lambda: metrics_from_features(self.cfg, check_finite(features, test_set.name), test_set))
            summary = result.summary()
            if index == 0:
                primary = result
                out.update(summary)
            else:
                out.update({f"{test_set.name}/{k}": v for k, v in summary.items()})
        out["eval_seconds"] = time.monotonic() - start
        if self.early.update(out[self._metric_name], epoch):
            self.state.best = {"epoch": epoch, **{k: out[k] for k in METRIC_KEYS}}
            if self.processes.is_main:
                self._save_best(epoch, primary)
        return out

    def _save_best(self, epoch: int, result) -> None:
        save_checkpoint(
            self.run.best_model,
            "best",
            model=self.model.state_dict(),
            config=config_to_yaml(self.cfg),
            num_classes=self.train_data.num_classes,
            epoch=epoch,
            metrics=self.state.best,
        )
        save_npz_atomic(self.run.file(BEST_PER_QUERY_FILE), {**result.per_query.to_arrays(), "epoch": epoch})

    # ------------------------------------------------------------ files
    def _end_of_epoch_files(self, epoch: int) -> None:
        """Checkpoint before history: a crash between them leaves a checkpoint whose history is the truth."""
        state = self.checkpoint_state()
        save_checkpoint(self.run.last_checkpoint, "last", **state)
        if epoch % self.cfg.SOLVER.CHECKPOINT_PERIOD == 0:
            save_checkpoint(self.run.periodic_checkpoint(epoch), "periodic", **state)
        self.run.write_history(self.state.history)

    def save_final_model(self) -> None:
        last = self.state.history[-1] if self.state.history else {}
        save_checkpoint(
            self.run.final_model,
            "final",
            model=self.model.state_dict(),
            config=config_to_yaml(self.cfg),
            num_classes=self.train_data.num_classes,
            epoch=self.state.epoch,
            metrics={k: last[k] for k in METRIC_KEYS if k in last},
        )

    def _log_epoch(self, record: dict) -> None:
        losses = " ".join(f"{k} {record[k]:.4f}" for k in record if k.startswith("loss"))
        text = (
            f"epoch {record['epoch']}/{self.cfg.SOLVER.MAX_EPOCH}  {losses}  lr {record['lr']:.2e}  "
            f"{record['images_per_second']:.0f} img/s  {_gradient_text(record)}  "
            f"update backbone {record['update_ratio_backbone']:.2e} head {record['update_ratio_head']:.2e}"
        )
        if "mAP" in record:
            text += (
                f"  |  mAP {record['mAP']:.4f} rank-1 {record['rank1']:.4f} mINP {record['mINP']:.4f}"
                f"  (best {self.early.best:.4f} @ {self.early.best_epoch}, patience {self.early.evaluations_without_improvement}/{self.early.patience})"
            )
        self.log.info(text)


def _accumulate(sums: dict, values: dict) -> None:
    """Running sums; tensors stay on the device so there is no host sync per iteration."""
    for name, value in values.items():
        value = value.detach() if isinstance(value, torch.Tensor) else value
        if name == "grad_norm":  # a step with inf/NaN gradients counts in nonfinite_grad_fraction, not in the mean norm
            value = torch.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)
        sums[name] = sums.get(name, 0.0) + value


def _gradient_text(record: dict) -> str:
    """The epoch's mean gradient norm, and how many steps had inf/NaN gradients (an fp16 GradScaler skips those)."""
    skipped = record["nonfinite_grad_fraction"]
    if record["grad_norm"] is None:
        return "grad_norm inf/NaN in every step"
    return f"grad_norm {record['grad_norm']:.3g}" + (f" ({skipped:.0%} of steps inf/NaN)" if skipped > 0 else "")


def _format_seconds(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
