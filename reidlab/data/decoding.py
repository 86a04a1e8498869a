"""Read one image file into a uint8 RGB tensor (3, H, W) at a target size.

torchvision decodes (JPEG, PNG, GIF, WebP; twice as fast as PIL here); PIL is the fallback for
anything else (BMP, ...) and for a torchvision without image decoding (deprecated in 0.29 in
favour of TorchCodec, whose deprecation warning is silenced around the call).
A file neither can decode raises CorruptImageError; callers skip it and count it.
The same function feeds the in-memory cache and the worker processes, so both give the
same pixels for the same file.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

try:
    from torchvision.io import ImageReadMode, decode_image
except ImportError:  # a future torchvision without image decoding
    decode_image = None

from reidlab.data.transforms import resize_image


class CorruptImageError(ValueError):
    """An image file that cannot be read or decoded."""


def decode_file(path: Path) -> torch.Tensor:
    """The file's pixels as uint8 RGB (3, H, W); CorruptImageError when unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CorruptImageError(f"{path}: cannot read ({exc.strerror})") from None
    if not data:
        raise CorruptImageError(f"{path}: empty file")
    if decode_image is not None:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision", category=DeprecationWarning)
                return decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
        except (RuntimeError, ValueError):
            pass
    try:
        with Image.open(io.BytesIO(data)) as image:
            array = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptImageError(f"{path}: cannot decode ({exc})") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def load_image(path: Path, size: Sequence[int]) -> torch.Tensor:
    """Decode and resize one image: uint8 (3, height, width)."""
    return resize_image(decode_file(path), size)
