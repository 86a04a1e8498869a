"""Decode every image of a split once, and keep the pixels in memory when they fit.

DATALOADER.CACHE_IMAGES: "on" always caches, "off" never, "auto" caches when the decoded
uint8 tensors (N x 3 x H x W bytes, at the target size) fit in a quarter of the memory
available now; where that cannot be read, auto caches up to 2 GB.
Decoding also finds corrupt files: they are skipped with one warning that counts them,
whether or not the pixels are kept, so cached and streamed runs see the same images.
Decoding runs in DATALOADER.NUM_WORKERS worker processes, chunk by chunk.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from reidlab.data.decoding import CorruptImageError, decode_file, load_image
from reidlab.data.intra_op import one_intra_op_thread

CacheMode = Literal["auto", "on", "off"]
ASSUMED_FIT_BYTES = 2 * 1024**3
MEMORY_FRACTION = 0.25
CHUNK_SIZE = 256
MIN_CHUNKS_FOR_WORKERS = 8  # below ~2000 images, starting processes costs more than it saves


class CorruptImagesSkipped(UserWarning):
    """Some image files could not be decoded and were left out."""


def available_memory_bytes() -> int | None:
    """Memory available to this process now, or None when it cannot be read on this platform."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():  # Linux: MemAvailable counts reclaimable page cache, unlike free pages
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    if sys.platform == "win32":
        return _windows_available_memory()
    if hasattr(os, "sysconf"):
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            return None
    return None


def _windows_available_memory() -> int | None:
    import ctypes

    class MemoryStatusEx(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatusEx()
    status.dwLength = ctypes.sizeof(MemoryStatusEx)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return int(status.ullAvailPhys)


def cache_bytes(num_images: int, size: Sequence[int]) -> int:
    """Bytes of the decoded uint8 images at (height, width)."""
    return num_images * 3 * int(size[0]) * int(size[1])


def should_cache(mode: CacheMode, num_images: int, size: Sequence[int]) -> bool:
    """Whether to keep decoded images in memory under DATALOADER.CACHE_IMAGES."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    needed = cache_bytes(num_images, size)
    available = available_memory_bytes()
    if available is None:
        return needed < ASSUMED_FIT_BYTES
    return needed <= available * MEMORY_FRACTION


@dataclass
class DecodedImages:
    """Which files decoded, and their pixels when kept."""

    kept: list[int]
    corrupt: list[str] = field(default_factory=list)
    pixels: torch.Tensor | None = None


class _DecodeChunks(Dataset):
    """Item i decodes the i-th chunk of paths: (pixels of the good ones or None, ok flags, error messages)."""

    def __init__(self, paths: Sequence[Path], size: Sequence[int], keep_pixels: bool, chunk_size: int) -> None:
        self.paths = list(paths)
        self.size = (int(size[0]), int(size[1]))
        self.keep_pixels = keep_pixels
        self.chunk_size = chunk_size

    def __len__(self) -> int:
        return (len(self.paths) + self.chunk_size - 1) // self.chunk_size

    def __getitem__(self, chunk: int) -> tuple[torch.Tensor | None, list[bool], list[str]]:
        images: list[torch.Tensor] = []
        ok: list[bool] = []
        errors: list[str] = []
        with one_intra_op_thread():
            for path in self.paths[chunk * self.chunk_size : (chunk + 1) * self.chunk_size]:
                try:
                    image = load_image(path, self.size) if self.keep_pixels else decode_file(path)
                except CorruptImageError as exc:
                    ok.append(False)
                    errors.append(str(exc))
                    continue
                ok.append(True)
                if self.keep_pixels:
                    images.append(image)
        pixels = torch.stack(images) if images else None
        return pixels, ok, errors


def decode_images(
    paths: Sequence[Path], size: Sequence[int], keep_pixels: bool, num_workers: int = 0, multiprocessing_context: Any = None
) -> DecodedImages:
    """Decode every path once, keeping the pixels if asked.

    Uses up to num_workers processes (at most one per CPU) when there are enough images to pay
    for starting them.
    """
    chunks = _DecodeChunks(paths, size, keep_pixels, CHUNK_SIZE)
    workers = min(num_workers, os.cpu_count() or 1, len(chunks)) if len(chunks) >= MIN_CHUNKS_FOR_WORKERS else 0
    loader = DataLoader(
        chunks, batch_size=None, shuffle=False, num_workers=workers, multiprocessing_context=multiprocessing_context if workers else None
    )
    pixels = torch.empty((len(paths), 3, int(size[0]), int(size[1])), dtype=torch.uint8) if keep_pixels else None
    kept: list[int] = []
    corrupt: list[str] = []
    start = 0
    for chunk_pixels, ok, errors in loader:
        if pixels is not None and chunk_pixels is not None:
            pixels[len(kept) : len(kept) + len(chunk_pixels)] = chunk_pixels  # compacted: corrupt rows never stored
        kept.extend(start + i for i, good in enumerate(ok) if good)
        corrupt.extend(errors)
        start += len(ok)
    if pixels is not None and len(kept) < len(paths):
        pixels = pixels[: len(kept)].clone()  # release the rows left empty by corrupt files
    return DecodedImages(kept=kept, corrupt=corrupt, pixels=pixels)


def warn_if_corrupt(decoded: DecodedImages, total: int, what: str) -> None:
    """One warning that counts the skipped files and names the first."""
    if decoded.corrupt:
        warnings.warn(
            f"{what}: skipped {len(decoded.corrupt)} corrupt image(s) of {total} (first: {decoded.corrupt[0]}); "
            "they are left out; replace or delete them to silence this",
            CorruptImagesSkipped,
            stacklevel=3,
        )
