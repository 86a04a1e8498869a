"""Atomic file writes: a crash at any instant leaves the old file or the new one, never half of one.

Temporary file in the same folder, flush, fsync, os.replace, then fsync of the folder (where the
OS allows it), so the rename itself survives a power cut. numpy and torch are imported on first
use: reading run folders (compare, diagnose) needs neither.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _default_file_mode() -> int:
    """The mode open() would give a new file (0o666 less the umask); mkstemp's 0o600 would hide runs from colleagues."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_file_mode()


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write to a temporary file in the same folder, flush it to disk, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; Windows cannot open a folder for this, and needs no such step."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (network mounts) refuse fsync on a folder
        pass
    finally:
        os.close(fd)


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Strict JSON (NaN and inf become null), readable by any language."""
    return write_text_atomic(path, json.dumps(_finite(data), indent=2, allow_nan=False, default=_json_default) + "\n")


def save_torch_atomic(path: str | Path, obj: Any) -> Path:
    import torch

    return write_bytes_atomic(path, _serialise(lambda buf: torch.save(obj, buf)))


def save_npz_atomic(path: str | Path, arrays: dict[str, Any]) -> Path:
    import numpy as np

    return write_bytes_atomic(path, _serialise(lambda buf: np.savez_compressed(buf, **arrays)))


def _serialise(write: Callable[[io.BytesIO], None]) -> bytes:
    buffer = io.BytesIO()
    write(buffer)
    return buffer.getvalue()


def _finite(value: Any) -> Any:
    value = _plain_scalar(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _plain_scalar(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (numpy itself need not be imported to tell)."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return item()
    return value


def _json_default(value: Any) -> Any:
    """numpy scalars and paths appear in metrics and configs; JSON needs plain types."""
    plain = _plain_scalar(value)
    if plain is not value:
        return plain
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
