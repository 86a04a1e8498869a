"""ImageNet weights for the ResNet backbone: torchvision's (IBN-Net's for IBN-a) download or a local file.

Why a module of its own: a training run must not die deep inside torch.hub with a
stack trace when the machine is offline. Every failure here ends in one
``PretrainedWeightsError`` whose single line says how to get the weights.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn
from torchvision import models

from reidlab.errors import UserError

# Depth key -> torchvision weights enum (the V1 ImageNet weights, as fast-reid/BoT used).
TORCHVISION_WEIGHTS: dict[str, Any] = {
    "18x": models.ResNet18_Weights.IMAGENET1K_V1,
    "34x": models.ResNet34_Weights.IMAGENET1K_V1,
    "50x": models.ResNet50_Weights.IMAGENET1K_V1,
    "101x": models.ResNet101_Weights.IMAGENET1K_V1,
}

# IBN-a ResNets: IBN-Net's release files, the ones fast-reid downloads for WITH_IBN.
IBN_URLS: dict[str, str] = {
    "18x": "https://github.com/XingangPan/IBN-Net/releases/download/v1.0/resnet18_ibn_a-2f571257.pth",
    "34x": "https://github.com/XingangPan/IBN-Net/releases/download/v1.0/resnet34_ibn_a-94bc1577.pth",
    "50x": "https://github.com/XingangPan/IBN-Net/releases/download/v1.0/resnet50_ibn_a-d9d0bb7b.pth",
    "101x": "https://github.com/XingangPan/IBN-Net/releases/download/v1.0/resnet101_ibn_a-59ea0ac6.pth",
}

# Prefixes that wrappers commonly add to a ResNet's keys; stripped before matching.
_WRAPPER_PREFIXES = ("module.", "backbone.")
_CLASSIFIER_PREFIX = "fc."
# Blocks reidlab adds to a ResNet (WITH_NL) are in no ImageNet file; their absence is not worth a warning.
_ADDED_PREFIXES = ("non_local.",)


class PretrainedWeightsError(UserError, RuntimeError):
    """Pretrained weights could not be found, downloaded or loaded; the message says what to do."""


@dataclass
class LoadReport:
    """What a state-dict load matched: counts and the names that did not match."""

    source: str
    loaded: int
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def resnet_name(depth: str, with_ibn: bool = False) -> str:
    """'50x' -> 'ResNet-50', or 'ResNet-50-IBN-a' (for messages)."""
    return f"ResNet-{depth.rstrip('x')}" + ("-IBN-a" if with_ibn else "")


def imagenet_weights_url(depth: str, with_ibn: bool = False) -> str:
    """The URL of the ImageNet file for this depth: torchvision's, or IBN-Net's for an IBN-a ResNet."""
    return IBN_URLS[depth] if with_ibn else TORCHVISION_WEIGHTS[depth].url


def _publisher(with_ibn: bool) -> str:
    return "IBN-Net's" if with_ibn else "torchvision's"


def download_state_dict(url: str) -> dict[str, torch.Tensor]:
    """The state dict at `url` from torch hub's cache, downloading it there first if absent.

    Kept as a separate function so that tests can replace it (no network in tests).
    """
    # torchvision's file names carry a SHA-256 prefix; IBN-Net's make no such promise, so only torchvision's are checked.
    check_hash = url.startswith("https://download.pytorch.org/")
    return torch.hub.load_state_dict_from_url(url, progress=True, check_hash=check_hash, weights_only=True)


def _how_to_get_weights(depth: str, with_ibn: bool = False) -> str:
    url = imagenet_weights_url(depth, with_ibn)
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    return (
        f"download it from {url} and set MODEL.BACKBONE.PRETRAIN_PATH /path/to/file.pth "
        f"(or copy it into {cache}), or set MODEL.BACKBONE.PRETRAIN False to train from scratch"
    )


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def fetch_imagenet_state_dict(depth: str, with_ibn: bool = False) -> dict[str, torch.Tensor]:
    """The downloaded ImageNet weights for `depth` (IBN-a or not), or a PretrainedWeightsError saying how to get them."""
    url = imagenet_weights_url(depth, with_ibn)
    try:
        return download_state_dict(url)
    except Exception as exc:  # offline, proxy, hash mismatch, full disk: all end the same way
        raise PretrainedWeightsError(
            f"could not get {_publisher(with_ibn)} ImageNet weights for {resnet_name(depth, with_ibn)} ({one_line(exc)}); "
            + _how_to_get_weights(depth, with_ibn)
        ) from exc


def read_state_dict_file(path: str | Path, depth: str, with_ibn: bool = False) -> dict[str, torch.Tensor]:
    """The tensors of a local weights file: a state dict, or a dict holding one under 'state_dict' or 'model'."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise PretrainedWeightsError(
            f"MODEL.BACKBONE.PRETRAIN_PATH {file}: file not found; " + _how_to_get_weights(depth, with_ibn)
        )
    try:
        loaded = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PretrainedWeightsError(
            f"MODEL.BACKBONE.PRETRAIN_PATH {file}: cannot be read as a torch weights file ({one_line(exc)}); "
            + _how_to_get_weights(depth, with_ibn)
        ) from None
    for wrapper_key in ("state_dict", "model"):
        if isinstance(loaded, Mapping) and isinstance(loaded.get(wrapper_key), Mapping):
            loaded = loaded[wrapper_key]
            break
    if not isinstance(loaded, Mapping):
        raise PretrainedWeightsError(
            f"MODEL.BACKBONE.PRETRAIN_PATH {file}: holds a {type(loaded).__name__}, not a state dict; "
            + _how_to_get_weights(depth, with_ibn)
        )
    return {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}


def _strip_prefixes(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    stripped: dict[str, torch.Tensor] = {}
    for name, tensor in state_dict.items():
        for prefix in _WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
        stripped[name] = tensor
    return stripped


def _preview(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def load_resnet_weights(
    module: nn.Module, state_dict: Mapping[str, torch.Tensor], depth: str, source: str, with_ibn: bool = False
) -> LoadReport:
    """Copy a ResNet state dict (torchvision's or IBN-Net's; its `fc.` classifier dropped) into `module`.

    Errors when nothing matches or a shape differs (the wrong depth); warns, naming the
    keys, when some backbone tensors are missing or the file has extra ones.
    """
    weights = {k: v for k, v in _strip_prefixes(state_dict).items() if not k.startswith(_CLASSIFIER_PREFIX)}
    own = module.state_dict()
    matched = [k for k in weights if k in own]
    wrong_shape = [k for k in matched if weights[k].shape != own[k].shape]
    expected = resnet_name(depth, with_ibn)
    if not matched or wrong_shape:
        detail = (
            f"{len(wrong_shape)} tensors have other shapes ({_preview(wrong_shape, 3)})"
            if wrong_shape
            else f"none of its {len(weights)} tensor names match"
        )
        raise PretrainedWeightsError(
            f"{source} does not look like a {expected} state dict: {detail}; "
            f"give {_publisher(with_ibn)} file ({imagenet_weights_url(depth, with_ibn)}) or set MODEL.BACKBONE.PRETRAIN False"
        )
    result = module.load_state_dict({k: weights[k] for k in matched}, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked") and not k.startswith(_ADDED_PREFIXES)]
    unexpected = [k for k in weights if k not in own]
    if missing:
        warnings.warn(
            f"{source}: {len(missing)} {expected} tensors not in the file keep their random init: {_preview(missing)}",
            stacklevel=2,
        )
    if unexpected:
        warnings.warn(f"{source}: {len(unexpected)} tensors in the file were ignored: {_preview(unexpected)}", stacklevel=2)
    return LoadReport(source=source, loaded=len(matched), missing=missing, unexpected=unexpected)


def load_pretrained_backbone(module: nn.Module, depth: str, pretrain_path: str = "", with_ibn: bool = False) -> LoadReport:
    """Load ImageNet weights into `module`: from `pretrain_path` when given, else the download (IBN-Net's when with_ibn)."""
    if pretrain_path:
        state_dict = read_state_dict_file(pretrain_path, depth, with_ibn)
        return load_resnet_weights(module, state_dict, depth, f"MODEL.BACKBONE.PRETRAIN_PATH {pretrain_path}", with_ibn)
    state_dict = fetch_imagenet_state_dict(depth, with_ibn)
    source = f"IBN-Net {imagenet_weights_url(depth, True)}" if with_ibn else f"torchvision {TORCHVISION_WEIGHTS[depth]}"
    return load_resnet_weights(module, state_dict, depth, source, with_ibn)
