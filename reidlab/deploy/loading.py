"""Find a run's checkpoint and rebuild its network and config from it (the checkpoint carries both)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from reidlab.config import Config, ConfigError, build_config
from reidlab.deploy.errors import DeployError
from reidlab.modeling import Baseline, build_model
from reidlab.rundir import BEST_MODEL_FILE, FINAL_MODEL_FILE, CheckpointError, load_checkpoint


@dataclass
class LoadedNetwork:
    """A trained network in eval mode on the CPU, its config, and where it came from."""

    network: Baseline
    cfg: Config
    checkpoint_path: Path
    epoch: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def resolve_checkpoint_path(run_or_checkpoint: str | Path) -> Path:
    """RUN_DIR -> RUN_DIR/best_model.pth; a .pth file -> itself; anything else a clear DeployError."""
    path = Path(run_or_checkpoint)
    if path.is_file():
        return path
    if not path.exists():
        raise DeployError(f"{path}: run directory not found (give a run directory written by `reidlab train`, or a .pth checkpoint)")
    if not path.is_dir():
        raise DeployError(f"{path}: neither a run directory nor a checkpoint file")
    best = path / BEST_MODEL_FILE
    if best.is_file():
        return best
    final = path / FINAL_MODEL_FILE
    hint = f"; to use the weights at the end of training, give {final}" if final.is_file() else ""
    raise DeployError(f"{path}: no {BEST_MODEL_FILE} in this run directory (no epoch was evaluated, or it is not a run directory){hint}")


def load_network(run_or_checkpoint: str | Path) -> LoadedNetwork:
    """The checkpoint's network (eval mode, CPU) built from the config stored in it."""
    path = resolve_checkpoint_path(run_or_checkpoint)
    try:
        checkpoint = load_checkpoint(path, map_location="cpu")
    except CheckpointError as exc:
        raise DeployError(str(exc)) from None
    except Exception as exc:  # torch's unpickler lets a few low-level errors through for damaged files (struct.error, ...)
        raise DeployError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {str(exc)[:160]}); the file may be damaged or not a checkpoint") from None
    missing = [key for key in ("model", "config") if key not in checkpoint]
    if missing:
        raise DeployError(f"{path}: checkpoint has no {' or '.join(missing)}; give a best_model.pth or model_final.pth written by reidlab train")
    cfg = config_from_text(checkpoint["config"], f"{path} (stored config)")
    network = build_model(cfg, int(checkpoint.get("num_classes") or 0))
    try:
        network.load_state_dict(checkpoint["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DeployError(f"{path}: weights do not fit the model its config describes ({first[:200]})") from None
    network.eval()
    return LoadedNetwork(network, cfg, path, checkpoint.get("epoch"), dict(checkpoint.get("metrics") or {}))


def config_from_text(text: str, source: str) -> Config:
    """The validated config from resolved YAML text, with ImageNet loading switched off (the checkpoint has the weights)."""
    try:
        cfg = build_config(yaml.safe_load(text) or {}, source)
    except (ConfigError, yaml.YAMLError) as exc:
        raise DeployError(f"{source}: unusable config ({str(exc).splitlines()[0][:200]})") from None
    cfg = cfg.model_copy(deep=True)
    cfg.MODEL.BACKBONE.PRETRAIN = False
    return cfg


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
