"""Flip test: describe each image by the mean of its features and its mirror image's.

A common ReID test-time augmentation (fast-reid's ``TEST.FLIP.ENABLED``): people look
about the same mirrored, so averaging the two views removes some pose/viewpoint noise.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch

ForwardFn = Callable[[torch.Tensor], torch.Tensor]


def flip_average(forward_fn: ForwardFn, images: torch.Tensor) -> torch.Tensor:
    """Mean of ``forward_fn(images)`` and ``forward_fn(images.flip(3))``.

    ``images`` is an (N, C, H, W) batch; dimension 3 (width) is mirrored.
    """
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    return (forward_fn(images) + forward_fn(images.flip(3))) / 2


@torch.no_grad()
def extract_features(
    forward_fn: ForwardFn,
    batches: Iterable[torch.Tensor],
    flip: bool = False,
    device: torch.device | str | None = "cpu",
) -> torch.Tensor:
    """Run ``forward_fn`` on each image batch and concatenate the float32 features.

    Args:
        forward_fn: maps an (N, C, H, W) batch to (N, D) features (e.g. a model in eval mode).
        batches: iterable of image batches, already on the model's device.
        flip: average each image's features with its mirror's (``flip_average``).
        device: where the collected features are kept (default CPU, so a large gallery does
            not pile up in accelerator memory); ``None`` keeps them where ``forward_fn`` put them.
    """
    features = []
    for images in batches:
        feats = flip_average(forward_fn, images) if flip else forward_fn(images)
        feats = feats.float()
        features.append(feats if device is None else feats.to(device))
    if not features:
        raise ValueError("batches is empty: no features extracted")
    return torch.cat(features)
