"""ReIDModel: a trained run's network, ready to embed images exactly as evaluation did.

    model = ReIDModel.from_run("logs/market1501/solution_1")      # or a .pth file, or a fast-reid run folder
    vectors = model.embed(["a.jpg", pil_image, hwc_uint8_array])   # (3, D) float32, unit length

Each image is decoded and resized to INPUT.SIZE_TEST with the data layer's functions, the
network normalises pixels inside (PIXEL_MEAN / PIXEL_STD), TEST.FLIP.ENABLED averages with
the mirror image, and the result is L2-normalised, so cosine similarity is a dot product.
The module's forward() is that whole computation on a ready batch; it is what `export` writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reidlab.config import Config
from reidlab.deploy.errors import DeployError
from reidlab.deploy.images import ImageInput, SkippedImage, load_inputs, split_inputs
from reidlab.deploy.loading import load_network, resolve_device
from reidlab.evaluation import flip_average
from reidlab.modeling import Baseline


@dataclass
class EmbeddedImages:
    """Embeddings of the usable inputs, which inputs they are, and the inputs that were skipped."""

    vectors: np.ndarray  # (len(kept), D) float32, unit rows
    kept: list[int] = field(default_factory=list)
    skipped: list[SkippedImage] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.kept)


class ReIDModel(nn.Module):
    """A trained ReID network in eval mode with its config's test-time preprocessing and L2-normalised output."""

    def __init__(
        self,
        network: Baseline,
        cfg: Config,
        device: str | torch.device | None = None,
        batch_size: int | None = None,
        source: Path | None = None,
    ) -> None:
        super().__init__()
        self.network = network
        self.cfg = cfg
        self.input_size: tuple[int, int] = (int(cfg.INPUT.SIZE_TEST[0]), int(cfg.INPUT.SIZE_TEST[1]))
        self.flip_test = bool(cfg.TEST.FLIP.ENABLED)
        self.batch_size = int(batch_size or cfg.TEST.IMS_PER_BATCH)
        if self.batch_size < 1:
            raise DeployError(f"batch size must be at least 1, got {self.batch_size}")
        self.source = source
        self._fingerprint: str | None = None
        self.to(resolve_device(device, cfg.MODEL.DEVICE))
        self.eval()

    @classmethod
    def from_run(
        cls, run_or_checkpoint: str | Path, device: str | torch.device | None = None, batch_size: int | None = None, config_file: str | Path | None = None
    ) -> "ReIDModel":
        """A reidlab or fast-reid run's best model (or the given .pth file); DeployError when there is none.

        `config_file` replaces the checkpoint's config (a fast-reid checkpoint without its run's config.yaml needs one).
        """
        loaded = load_network(run_or_checkpoint, config_file)
        return cls(loaded.network, loaded.cfg, device=device, batch_size=batch_size, source=loaded.checkpoint_path)

    # ------------------------------------------------------------ facts
    @property
    def device(self) -> torch.device:
        return self.network.pixel_mean.device

    @property
    def embedding_dim(self) -> int:
        return self.network.embedding_dim

    @property
    def fingerprint(self) -> str:
        """Hash of the weights and the preprocessing: galleries enrolled with another model are refused."""
        if self._fingerprint is None:
            digest = hashlib.sha256(f"{self.input_size}|flip={self.flip_test}".encode())
            for name, tensor in self.network.state_dict().items():
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    # ------------------------------------------------------------ computation
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB 0-255 at input_size -> (B, D) float32 unit embeddings (flip-averaged when configured)."""
        features = flip_average(self.network, images) if self.flip_test else self.network(images)
        return F.normalize(features.float(), dim=1)

    @torch.inference_mode()
    def embed_batch(self, batch: torch.Tensor) -> torch.Tensor:
        """forward() on a ready batch, on the model's device, in eval mode; the result on the CPU."""
        if self.training:
            self.eval()
        return self(batch.to(self.device, non_blocking=True)).cpu()

    def embed_with_report(self, images: ImageInput | Sequence[ImageInput]) -> EmbeddedImages:
        """Embed every usable input, batch by batch; undecodable files are skipped and listed."""
        items = split_inputs(images)
        chunks: list[torch.Tensor] = []
        kept: list[int] = []
        skipped: list[SkippedImage] = []
        for start in range(0, len(items), self.batch_size):
            pixels, kept_here, skipped_here = load_inputs(items[start : start + self.batch_size], self.input_size, start)
            skipped += skipped_here
            if pixels:
                chunks.append(self.embed_batch(torch.stack(pixels)))  # uint8, as evaluation batches are
                kept += kept_here
        vectors = torch.cat(chunks).numpy() if chunks else np.zeros((0, self.embedding_dim), dtype=np.float32)
        return EmbeddedImages(vectors.astype(np.float32, copy=False), kept, skipped)

    def embed(self, images: ImageInput | Sequence[ImageInput]) -> np.ndarray:
        """(N, D) float32 unit embeddings, one row per input in order; DeployError if a file cannot be decoded."""
        result = self.embed_with_report(images)
        if result.skipped:
            first = result.skipped[0]
            more = f" (and {len(result.skipped) - 1} more)" if len(result.skipped) > 1 else ""
            raise DeployError(f"{first.source}: {first.reason}{more}; use embed_with_report() to skip undecodable images")
        return result.vectors

    def describe(self) -> str:
        """One line for logs: source, input size, flip test, embedding width."""
        flip = "on" if self.flip_test else "off"
        return f"{self.source or 'model'}: input {self.input_size[0]}x{self.input_size[1]}, flip test {flip}, {self.embedding_dim}-d embeddings, {self.device}"
