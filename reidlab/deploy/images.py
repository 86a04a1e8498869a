"""Turn what a caller hands to embed() into model input: uint8 RGB (3, H, W) at the test size.

Accepted: a file path (str or PathLike), a PIL image, a numpy array (H, W, 3) / (H, W) / (H, W, 4)
or a batch of them (N, H, W, C), a tensor (3, H, W) or a batch (N, 3, H, W). uint8 is the
native type; float arrays and tensors hold 0-255 values and are rounded to uint8 first, because
every image the model saw in training and evaluation was uint8 (a float image resized as float
would embed slightly differently from the same image saved and read back). Files are decoded
and every image is resized with the data layer's own functions (decode_file, resize_image), so
deploy pixels are the evaluation pixels bit for bit.
A file that cannot be read or decoded is a data problem: it is skipped and reported. A value
of the wrong type or shape is a programming mistake: DeployError at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

import numpy as np
import torch
from PIL import Image

from reidlab.data.datasets.layout import IMAGE_SUFFIXES
from reidlab.data.decoding import CorruptImageError, decode_file
from reidlab.data.transforms import resize_image
from reidlab.deploy.errors import DeployError

ImageInput = Union[str, "os.PathLike[str]", Image.Image, np.ndarray, torch.Tensor]


@dataclass(frozen=True)
class SkippedImage:
    """An input that could not be used: its position in the input, a name for it, and why."""

    index: int
    source: str
    reason: str


def split_inputs(images: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    """One entry per image: a single image becomes a list of one; a batch array/tensor is split."""
    if isinstance(images, torch.Tensor):
        return list(images.unbind(0)) if images.ndim == 4 else [images]
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 else [images]
    if isinstance(images, (str, os.PathLike, Image.Image)):
        return [images]
    if isinstance(images, (list, tuple)):
        return list(images)
    if isinstance(images, Iterable):
        return list(images)
    raise DeployError(f"images must be a path, PIL image, numpy array, tensor or a list of them, not {type(images).__name__}")


def describe_input(image: ImageInput, index: int) -> str:
    """A short name for reports: the path for files, the type and shape otherwise."""
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    if isinstance(image, Image.Image):
        return f"image #{index} (PIL {image.mode} {image.width}x{image.height})"
    shape = "x".join(str(s) for s in getattr(image, "shape", ()))
    return f"image #{index} ({type(image).__name__} {shape})"


def load_input(image: ImageInput, size: Sequence[int]) -> torch.Tensor:
    """(3, height, width) uint8 RGB; CorruptImageError for an undecodable file."""
    if isinstance(image, (str, os.PathLike)):
        pixels = decode_file(Path(image))
    elif isinstance(image, Image.Image):
        pixels = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).contiguous()
    elif isinstance(image, np.ndarray):
        pixels = _array_to_chw(image)
    elif isinstance(image, torch.Tensor):
        pixels = _tensor_to_chw(image)
    else:
        raise DeployError(f"cannot embed a {type(image).__name__}: give a file path, PIL image, numpy HWC array or (3, H, W) tensor")
    return resize_image(pixels, size)


def _array_to_chw(array: np.ndarray) -> torch.Tensor:
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise DeployError(f"a numpy image must be (H, W), (H, W, 3) or (H, W, 4) RGB(A), got shape {array.shape}")
    array = array[:, :, :3] if array.shape[2] == 4 else array  # drop alpha, as PIL's convert("RGB") does
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:  # np.asarray(pil_image) is read-only; torch warns about sharing it
        array = array.copy()
    tensor = torch.from_numpy(array).permute(2, 0, 1)
    return _channels_rgb(_checked_dtype(tensor, "numpy array"))


def _tensor_to_chw(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.ndim == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 3 or tensor.shape[0] not in (1, 3):
        raise DeployError(f"a tensor image must be (3, H, W) RGB (or a batch (N, 3, H, W)), got shape {tuple(tensor.shape)}")
    return _channels_rgb(_checked_dtype(tensor.detach().cpu(), "tensor"))


def _channels_rgb(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.expand(3, -1, -1).contiguous() if tensor.shape[0] == 1 else tensor.contiguous()


def _checked_dtype(tensor: torch.Tensor, kind: str) -> torch.Tensor:
    """uint8 as is; float 0-255 values rounded to uint8 (a 0-1 image is refused: it would embed as black)."""
    if tensor.dtype == torch.uint8:
        return tensor
    if not tensor.dtype.is_floating_point:
        raise DeployError(f"a {kind} image must be uint8 or float (0-255 RGB), not {tensor.dtype}")
    if tensor.numel() and 0.0 < float(tensor.max()) <= 1.0 and float(tensor.min()) >= 0.0:
        raise DeployError(f"a float {kind} image must hold 0-255 values; this one lies in 0-1: multiply it by 255")
    return tensor.float().round().clamp(0, 255).to(torch.uint8)


def load_inputs(images: Sequence[ImageInput], size: Sequence[int], first_index: int = 0) -> tuple[list[torch.Tensor], list[int], list[SkippedImage]]:
    """Load each image; undecodable files are left out and reported. Returns (pixels, kept indices, skipped)."""
    pixels: list[torch.Tensor] = []
    kept: list[int] = []
    skipped: list[SkippedImage] = []
    for offset, image in enumerate(images):
        index = first_index + offset
        try:
            pixels.append(load_input(image, size))
        except CorruptImageError as exc:
            skipped.append(SkippedImage(index, describe_input(image, index), _reason(exc, image)))
            continue
        kept.append(index)
    return pixels, kept, skipped


def _reason(exc: Exception, image: Any) -> str:
    """CorruptImageError messages start with the path; the report already names it."""
    text = str(exc)
    prefix = f"{os.fspath(image)}: " if isinstance(image, (str, os.PathLike)) else ""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


def list_image_files(folder: str | Path, recursive: bool = True) -> list[Path]:
    """Image files (by suffix: .jpg .jpeg .png .bmp .webp) under `folder`, sorted; other files are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DeployError(f"{folder}: image folder not found")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in candidates if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
