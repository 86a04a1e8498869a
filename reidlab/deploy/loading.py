"""Find a run's checkpoint and rebuild its network (reidlab.modeling.loading), with deploy's one-line errors."""

from __future__ import annotations

from pathlib import Path

import torch

from reidlab.deploy.errors import DeployError
from reidlab.errors import UserError
from reidlab.modeling import loading as modeling_loading
from reidlab.modeling.loading import LoadedNetwork


def resolve_checkpoint_path(run_or_checkpoint: str | Path) -> Path:
    """RUN_DIR -> its best model (reidlab's best_model.pth, fast-reid's model_best.pth); a .pth file -> itself."""
    try:
        return modeling_loading.resolve_checkpoint_path(run_or_checkpoint)
    except UserError as exc:
        raise DeployError(str(exc)) from None


def load_network(run_or_checkpoint: str | Path, config_file: str | Path | None = None) -> LoadedNetwork:
    """The network (eval mode, CPU) of a reidlab or fast-reid run folder or checkpoint; `config_file` replaces its config."""
    try:
        return modeling_loading.load_network(run_or_checkpoint, config_file)
    except UserError as exc:
        raise DeployError(str(exc)) from None


def resolve_device(requested: str | torch.device | None, configured: str) -> torch.device:
    """An explicit device as given; otherwise MODEL.DEVICE, falling back to the CPU where CUDA is absent."""
    if requested is not None:
        try:
            device = torch.device(requested)
        except RuntimeError:
            raise DeployError(f"device {requested!r}: use cpu, cuda or cuda:N") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise DeployError(f"device {requested!r}: CUDA is not available here; use cpu")
        return device
    if configured.startswith("cuda") and torch.cuda.is_available():
        return torch.device(configured)
    if configured == "auto" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
