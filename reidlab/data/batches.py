"""What the loaders yield: small NamedTuples of tensors (picklable, so workers can send them)."""

from __future__ import annotations

from typing import NamedTuple

import torch


class TrainBatch(NamedTuple):
    """A training batch: uint8 RGB images (B, 3, H, W) on the 0-255 scale, relabelled pids, camids (int64)."""

    images: torch.Tensor
    targets: torch.Tensor
    camids: torch.Tensor


class TestBatch(NamedTuple):
    """An evaluation batch: uint8 images, original pids, camids, and each image's position (query first, then gallery)."""

    __test__ = False  # not a pytest test class, despite the name

    images: torch.Tensor
    pids: torch.Tensor
    camids: torch.Tensor
    indices: torch.Tensor
