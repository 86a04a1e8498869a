"""Training in several processes under torchrun: which device each uses, who writes, how they agree.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK (and the rendezvous address) for every process.
Without them training is one process, and every method of ``Processes`` is a cheap local
no-op, so the trainer has a single code path. Every decision that ends or shapes a run
(stop signal, time limit, non-finite loss, early stopping) goes through a collective, so all
ranks take it together and none is left waiting in an all-reduce.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from typing import Callable, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from reidlab.config import Config, ConfigError

T = TypeVar("T")


def select_device(name: str) -> torch.device:
    """MODEL.DEVICE of a single-process run: auto picks CUDA when present."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"MODEL.DEVICE {name}: CUDA is not available on this machine; use MODEL.DEVICE cpu (or auto)")
    return torch.device(name)


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))  # where collectives run

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the run directory and the log."""
        return self.rank == 0

    def any(self, *flags: bool) -> list[bool]:
        """Each flag, true on every rank when it is true on any rank."""
        if not self.enabled:
            return [bool(f) for f in flags]
        values = torch.tensor([int(bool(f)) for f in flags], dtype=torch.int32, device=self.device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return [bool(v) for v in values.tolist()]

    def mean(self, values: dict[str, torch.Tensor | float]) -> dict[str, float]:
        """Each value averaged over the ranks (every rank sees batches of the same size)."""
        if not values:
            return {}
        names = list(values)
        stacked = torch.stack([torch.as_tensor(values[n], dtype=torch.float64).detach().to(self.device).reshape(()) for n in names])
        if self.enabled:
            dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
            stacked /= self.world_size
        return dict(zip(names, stacked.tolist()))

    def gather_rows(self, rows: torch.Tensor) -> torch.Tensor | None:
        """Every rank's rows, concatenated in rank order, on rank 0 (None elsewhere)."""
        if not self.enabled:
            return rows
        local = rows.to(self.device)
        counts = [torch.zeros(1, dtype=torch.int64, device=self.device) for _ in range(self.world_size)]
        dist.all_gather(counts, torch.tensor([len(local)], dtype=torch.int64, device=self.device))
        sizes = [int(c.item()) for c in counts]
        # all_gather needs equal shapes: pad to the longest share, trim afterwards.
        padded = local.new_zeros((max(sizes), *local.shape[1:]))
        padded[: len(local)] = local
        shares = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(shares, padded)
        if not self.is_main:
            return None
        return torch.cat([share[:size] for share, size in zip(shares, sizes)]).to(rows.device)

    def whole_batch(self, features: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every rank's features (keeping their gradient) and targets, in rank order: the triplet mines the global batch, as in one process."""
        if not self.enabled:
            return features, targets
        shared_targets = [torch.empty_like(targets) for _ in range(self.world_size)]
        dist.all_gather(shared_targets, targets.contiguous())
        return _GatherWithGradient.apply(features), torch.cat(shared_targets)

    def on_main(self, compute: Callable[[], T]) -> T:
        """compute() on rank 0 alone; every rank gets its result, or raises its exception."""
        if not self.enabled:
            return compute()
        outcome: tuple = (None, None)
        if self.is_main:
            try:
                outcome = (compute(), None)
            except Exception as exc:  # shared with the other ranks, then raised here too
                self._broadcast((None, _picklable(exc)))
                raise
        value, error = self._broadcast(outcome)
        if error is not None:
            raise error
        return value

    def _broadcast(self, obj):
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=self.device)
        return box[0]

    def share_buffers(self, model: nn.Module) -> None:
        """Rank 0's BatchNorm statistics on every rank, so every share of the test set sees one model."""
        if self.enabled:
            for buffer in model.buffers():
                dist.broadcast(buffer.data, src=0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def wrap(self, model: nn.Module, cfg: Config) -> nn.Module:
        """The module the training step calls: DistributedDataParallel (with SyncBN if asked) or the model itself."""
        if not self.enabled:
            return model
        synced = sync_bn_parts(cfg)
        if synced and self.device.type != "cuda":
            raise ConfigError(f"{' / '.join(synced.values())} syncBN needs CUDA (torch's SyncBatchNorm has no CPU kernel); use BN on the CPU")
        convert_to_sync_bn(model, synced)
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def shutdown(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


SINGLE_PROCESS = Processes()


class _GatherWithGradient(torch.autograd.Function):
    """all_gather whose backward returns each rank the summed gradient of its own rows.

    Written here because torch's autograd-aware all_gather (torch.distributed.nn) is deprecated
    in favour of a private module. Every rank holds the same number of rows.
    """

    @staticmethod
    def forward(ctx, local: torch.Tensor) -> torch.Tensor:
        shares = [torch.empty_like(local) for _ in range(dist.get_world_size())]
        dist.all_gather(shares, local.contiguous())
        ctx.rows = slice(dist.get_rank() * len(local), (dist.get_rank() + 1) * len(local))
        return torch.cat(shares)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # every rank's loss saw these rows; DDP then averages the parameter gradients
        return grad[ctx.rows]


def convert_to_sync_bn(model: nn.Module, parts) -> None:
    """The named parts' BatchNorm layers become SyncBatchNorm, sharing their parameters and statistics."""
    for part in parts:
        setattr(model, part, nn.SyncBatchNorm.convert_sync_batchnorm(getattr(model, part)))


def sync_bn_parts(cfg: Config) -> dict[str, str]:
    """The model parts whose config asks for syncBN, with the key that asks."""
    keys = {"backbone": ("MODEL.BACKBONE.NORM", cfg.MODEL.BACKBONE.NORM), "head": ("MODEL.HEADS.NORM", cfg.MODEL.HEADS.NORM)}
    return {part: key for part, (key, value) in keys.items() if value == "syncBN"}


def start_processes(device_name: str) -> tuple[Processes, torch.device]:
    """Join torchrun's process group when launched by it; otherwise one process on MODEL.DEVICE.

    Under torchrun each process takes the GPU of its LOCAL_RANK (NCCL), or the CPU (gloo)
    when MODEL.DEVICE is cpu or there is no GPU.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return SINGLE_PROCESS, select_device(device_name)
    if "RANK" not in os.environ:
        raise ConfigError(f"WORLD_SIZE is {world_size} but RANK is not set: launch several processes with torchrun, or unset WORLD_SIZE")
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device_name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"MODEL.DEVICE {device_name}: CUDA is not available on this machine; use MODEL.DEVICE cpu (or auto)")
    if device_name != "cpu" and torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} GPU(s): lower torchrun's --nproc_per_node")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Processes(rank, world_size, local_rank, device), device


def _picklable(exc: Exception) -> Exception:
    """The exception itself when it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
