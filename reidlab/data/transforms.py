"""Image transforms on uint8 tensors, in fast-reid's order.

Train: resize to INPUT.SIZE_TRAIN -> AutoAugment (INPUT.AUTOAUG) -> horizontal flip (INPUT.FLIP)
-> pad + random crop back to size (INPUT.PADDING) -> colour jitter (INPUT.CJ) -> random erasing
with INPUT.REA.VALUE (INPUT.REA). Test: resize to INPUT.SIZE_TEST. Resizing happens once per image
when it is decoded (decoding.load_image), so AutoAugment sees the resized image (fast-reid's sees
the original one, before its resize). The random part runs on a whole batch (B, 3, H, W) at
once, with all randomness drawn from the torch.Generator it is given. Pixels stay uint8 RGB 0-255:
the model normalises with MODEL.PIXEL_MEAN / PIXEL_STD, like fast-reid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import torch
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as F

PadMode = Literal["constant", "edge", "reflect", "symmetric"]
ERASE_ATTEMPTS = 10  # as torchvision's RandomErasing
SEED_LIMIT = 2**62  # per-image seeds for torch.manual_seed, drawn from the batch generator


def resize_image(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bicubic, antialiased resize to (height, width), fast-reid's T.Resize(interpolation=3); no-op at that size."""
    height, width = int(size[0]), int(size[1])
    if tuple(image.shape[-2:]) == (height, width):
        return image
    return F.resize(image, [height, width], interpolation=InterpolationMode.BICUBIC, antialias=True)


@dataclass(frozen=True)
class TrainAugmentation:
    """The random part of the train transform, applied to a uint8 batch (B, 3, H, W).

    A probability of 0 or a padding of 0 switches that step off. The same random numbers are
    drawn whatever is enabled, so switching one step off does not change the others.
    AutoAugment and colour jitter are torchvision's, applied to each chosen image with the
    global torch RNG seeded from the generator inside torch.random.fork_rng: the batch still
    depends on the generator alone, and the global RNG is left as it was.
    """

    autoaug_prob: float = 0.0
    flip_prob: float = 0.0
    padding: int = 0
    padding_mode: PadMode = "constant"
    erase_prob: float = 0.0
    erase_value: tuple[int, int, int] = (124, 116, 104)
    erase_scale: tuple[float, float] = (0.02, 0.33)
    erase_ratio: tuple[float, float] = (0.3, 3.3)
    jitter_prob: float = 0.0
    jitter: tuple[float, float, float, float] = (0.15, 0.15, 0.1, 0.1)  # brightness, contrast, saturation, hue

    @classmethod
    def from_config(cls, cfg: Any) -> "TrainAugmentation":
        """The augmentation the INPUT.AUTOAUG / FLIP / PADDING / CJ / REA keys describe."""
        inp = cfg.INPUT
        cj = inp.CJ
        return cls(
            autoaug_prob=inp.AUTOAUG.PROB if inp.AUTOAUG.ENABLED else 0.0,
            flip_prob=inp.FLIP.PROB if inp.FLIP.ENABLED else 0.0,
            padding=inp.PADDING.SIZE if inp.PADDING.ENABLED else 0,
            padding_mode=inp.PADDING.MODE,
            erase_prob=inp.REA.PROB if inp.REA.ENABLED else 0.0,
            erase_value=tuple(min(255, max(0, int(round(v)))) for v in inp.REA.VALUE),  # type: ignore[arg-type]
            jitter_prob=cj.PROB if cj.ENABLED else 0.0,
            jitter=(cj.BRIGHTNESS, cj.CONTRAST, cj.SATURATION, cj.HUE),
        )

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A new augmented batch; the input is never modified."""
        batch = images.shape[0]
        flip_draw = torch.rand(batch, generator=generator)
        offsets = torch.randint(0, 2 * self.padding + 1, (batch, 2), generator=generator)
        erase_draw = torch.rand(batch, generator=generator)
        erase_params = torch.rand(batch, ERASE_ATTEMPTS, 4, generator=generator, dtype=torch.float64)
        autoaug_draw, jitter_draw = torch.rand(batch, generator=generator), torch.rand(batch, generator=generator)
        autoaug_seeds, jitter_seeds = torch.randint(0, SEED_LIMIT, (2, batch), generator=generator).tolist()

        out = images
        autoaug = (autoaug_draw < self.autoaug_prob).tolist()
        if any(autoaug):
            out = per_image(out, autoaug, autoaug_seeds, v2.AutoAugment())
        flip = flip_draw < self.flip_prob
        if self.padding > 0 or bool(flip.any()):
            out = flip_pad_crop(out, flip, offsets, self.padding, self.padding_mode)
        jitter = (jitter_draw < self.jitter_prob).tolist()
        if any(jitter):
            out = per_image(out, jitter, jitter_seeds, v2.ColorJitter(*self.jitter))
        erase = (erase_draw < self.erase_prob).tolist()
        if any(erase):
            out = out.clone() if out is images else out
            self._erase(out, erase, erase_params.tolist())
        return out

    def _erase(self, out: torch.Tensor, erase: list[bool], params: list[list[list[float]]]) -> None:
        # Hand-written per-sample slices: torchvision's RandomErasing works on one image and its own RNG.
        height, width = out.shape[-2:]
        value = torch.tensor(self.erase_value, dtype=out.dtype).reshape(3, 1, 1)
        log_ratio = (math.log(self.erase_ratio[0]), math.log(self.erase_ratio[1]))
        for sample, chosen in enumerate(erase):
            if not chosen:
                continue
            for u_area, u_ratio, u_top, u_left in params[sample]:
                area = height * width * (self.erase_scale[0] + u_area * (self.erase_scale[1] - self.erase_scale[0]))
                aspect = math.exp(log_ratio[0] + u_ratio * (log_ratio[1] - log_ratio[0]))
                h = int(round(math.sqrt(area * aspect)))
                w = int(round(math.sqrt(area / aspect)))
                if 0 < h < height and 0 < w < width:
                    top = int(u_top * (height - h + 1))
                    left = int(u_left * (width - w + 1))
                    out[sample, :, top : top + h, left : left + w] = value
                    break


def per_image(images: torch.Tensor, chosen: list[bool], seeds: list[int], transform: torch.nn.Module) -> torch.Tensor:
    """A copy of the batch with `transform` applied to each chosen image, the global RNG seeded with its seed.

    torchvision's random transforms draw from the global torch RNG; fork_rng restores it afterwards.
    """
    out = images.clone()
    with torch.random.fork_rng(devices=[]):
        for sample, (apply, seed) in enumerate(zip(chosen, seeds)):
            if apply:
                torch.manual_seed(seed)
                out[sample] = transform(images[sample])
    return out


def flip_pad_crop(images: torch.Tensor, flip: torch.Tensor, offsets: torch.Tensor, padding: int, mode: PadMode) -> torch.Tensor:
    """Per sample b: mirror if flip[b], pad by `padding` (mode), crop back to (H, W) at offsets[b] = (top, left).

    Equals torchvision's hflip -> pad -> crop on each image.
    """
    # Hand-written: torchvision's batched pad costs 8-25 ms per uint8 batch (and torch has no
    # "symmetric"); one padded batch plus a loop of cheap slices costs ~0.5 ms at 32 x 128x64.
    height, width = images.shape[-2:]
    padded = pad_batch(images, padding, mode)
    out = torch.empty_like(images)
    for sample, ((top, left), flipped) in enumerate(zip(offsets.tolist(), flip.tolist())):
        if flipped:  # flipping before padding = cropping the mirrored window, then flipping
            left = 2 * padding - left
            out[sample] = padded[sample, :, top : top + height, left : left + width].flip(-1)
        else:
            out[sample] = padded[sample, :, top : top + height, left : left + width]
    return out


def pad_batch(images: torch.Tensor, padding: int, mode: PadMode) -> torch.Tensor:
    """(B, C, H, W) padded by `padding` on each side: constant 0, edge, reflect or symmetric."""
    if padding == 0:
        return images
    if mode == "constant":
        return torch.nn.functional.pad(images, (padding,) * 4)
    batch, channels, height, width = images.shape
    limit = min(height, width) - (1 if mode == "reflect" else 0)
    if padding > limit:
        raise ValueError(f"INPUT.PADDING.SIZE {padding} is too large for {mode} padding of {height}x{width} images (at most {limit})")
    padded = images.new_empty(batch, channels, height + 2 * padding, width + 2 * padding)
    padded[:, :, padding : padding + height, padding : padding + width] = images
    padded[:, :, :padding, padding : padding + width] = _border(images, 2, padding, mode, first=True)
    padded[:, :, padding + height :, padding : padding + width] = _border(images, 2, padding, mode, first=False)
    middle = padded[:, :, :, padding : padding + width]
    padded[:, :, :, :padding] = _border(middle, 3, padding, mode, first=True)
    padded[:, :, :, padding + width :] = _border(middle, 3, padding, mode, first=False)
    return padded


def _border(tensor: torch.Tensor, dim: int, padding: int, mode: PadMode, first: bool) -> torch.Tensor:
    """The `padding` lines beyond the first (or last) edge of `tensor` along `dim`."""
    size = tensor.shape[dim]
    if mode == "edge":  # ... 0 0 | 0 1 2 ... n-1 | n-1 n-1 ...
        shape = list(tensor.shape)
        shape[dim] = padding
        return tensor.narrow(dim, 0 if first else size - 1, 1).expand(shape)
    skip = 1 if mode == "reflect" else 0  # reflect: ... 2 1 | 0 1 2 ...; symmetric: ... 1 0 | 0 1 ...
    start = skip if first else size - padding - skip
    return tensor.narrow(dim, start, padding).flip(dim)
