"""reidlab checkpoints: plain tensors and numbers, saved atomically, loaded with weights_only=True.

A checkpoint never holds Python objects, so loading one from elsewhere cannot run code.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import Any

from reidlab.errors import UserError
from reidlab.rundir.atomic import save_torch_atomic

FORMAT = "reidlab-checkpoint"
VERSION = 1


class CheckpointError(UserError):
    """A checkpoint that is missing, damaged, not ours, or unsafe."""


def save_checkpoint(path: Path, kind: str, **content: Any) -> Path:
    """Write a checkpoint of a kind (best, final, last, periodic) with the given entries."""
    return save_torch_atomic(path, {"format": FORMAT, "version": VERSION, "kind": kind, **content})


def load_torch_file(path: str | Path, map_location: Any = "cpu") -> Any:
    """Whatever a .pth file holds, read with weights_only=True; a one-line CheckpointError for an unsafe or damaged file."""
    import torch  # on first use: reading run folders needs no torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path}: refused to load: it holds Python objects, not only tensors ({first[:160]}); "
            "reidlab loads checkpoints with weights_only=True so that a file cannot run code"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, struct.error) as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint ({str(exc).splitlines()[0][:160]}); the file may be truncated") from None


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint's content; a one-line CheckpointError for anything that is not a safe reidlab checkpoint."""
    data = load_torch_file(path, map_location)
    if not is_reidlab_checkpoint(data):
        raise CheckpointError(f"{path}: not a reidlab checkpoint (no '{FORMAT}' marker); give a best_model.pth, model_final.pth or last_checkpoint.pth written by reidlab train")
    if data.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: written by a newer reidlab (checkpoint version {data['version']}); upgrade reidlab")
    return data


def is_reidlab_checkpoint(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT
