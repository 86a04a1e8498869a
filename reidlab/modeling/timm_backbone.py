"""Backbones from timm, an optional extra: fast-reid's ResNeSt (build_resnest_backbone) or any timm CNN by name.

timm already implements and hosts these networks and their ImageNet weights, so reidlab
wraps them instead of carrying copies; without timm installed, asking for one is a one-line error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from reidlab.config import Config, ConfigError
from reidlab.modeling.pretrained import PretrainedWeightsError, one_line

# fast-reid's ResNeSt depths -> timm's models of the same architecture (deep stem, average down-sampling).
RESNEST_MODELS: dict[str, str] = {"50x": "resnest50d", "101x": "resnest101e", "200x": "resnest200e", "269x": "resnest269e"}


def import_timm() -> Any:
    """The timm module, or a ConfigError saying how to install it."""
    try:
        import timm
    except ImportError:
        raise ConfigError(
            "MODEL.BACKBONE.NAME build_resnest_backbone / build_timm_backbone needs timm, which is not installed: "
            "pip install timm (or pip install 'reidlab[timm]')"
        ) from None
    return timm


def timm_model_name(cfg: Config) -> str:
    """The timm model that cfg.MODEL.BACKBONE names: ResNeSt of DEPTH, or TIMM_MODEL."""
    bcfg = cfg.MODEL.BACKBONE
    return RESNEST_MODELS[bcfg.DEPTH] if bcfg.NAME == "build_resnest_backbone" else bcfg.TIMM_MODEL


class TimmBackbone(nn.Module):
    """A timm CNN without its pooling and classifier; returns its last feature map (B, out_channels, h, w).

    last_stride 1 asks timm for output_stride 16: the last stage dilates instead of striding,
    which keeps fast-reid's doubled feature map (fast-reid's own ResNeSt drops the stride instead).
    """

    def __init__(self, model_name: str, last_stride: int = 1, pretrained: bool = False, pretrain_path: str = "") -> None:
        super().__init__()
        timm = import_timm()
        if not timm.is_model(model_name):
            raise ConfigError(f"MODEL.BACKBONE.TIMM_MODEL {model_name!r} is not a timm model (timm.list_models('*part*') lists them)")
        kwargs: dict[str, Any] = {"num_classes": 0, "global_pool": ""}
        if last_stride == 1:
            kwargs["output_stride"] = 16
        self.model_name = model_name
        self.body = _create(timm, model_name, pretrained, pretrain_path, kwargs)
        self.out_channels = int(self.body.num_features)
        self.pretrained_source = _describe_source(model_name, pretrained, pretrain_path)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feature_map = self.body.forward_features(images)
        if feature_map.ndim != 4:
            raise ConfigError(
                f"timm model {self.model_name} gives features of shape {tuple(feature_map.shape)}, not a (B, C, H, W) map; "
                "reidlab's head needs a CNN backbone"
            )
        return feature_map


def _create(timm: Any, name: str, pretrained: bool, pretrain_path: str, kwargs: dict[str, Any]) -> nn.Module:
    if pretrained and pretrain_path:
        file = Path(pretrain_path).expanduser()
        if not file.is_file():
            raise PretrainedWeightsError(f"MODEL.BACKBONE.PRETRAIN_PATH {file}: file not found; " + _how_to_get_weights(name))
        kwargs = {**kwargs, "pretrained_cfg_overlay": {"file": str(file)}}  # timm reads it with weights_only=True
    try:
        return timm.create_model(name, pretrained=pretrained, **kwargs)
    except TypeError as exc:
        if "output_stride" in str(exc):
            raise ConfigError(f"timm model {name} has no output_stride option; set MODEL.BACKBONE.LAST_STRIDE 2") from None
        raise
    except Exception as exc:
        if not pretrained:
            raise
        # Offline, a wrong file, a hub error: all end the same way, in one line.
        where = f"MODEL.BACKBONE.PRETRAIN_PATH {pretrain_path}" if pretrain_path else "the download"
        raise PretrainedWeightsError(
            f"could not load timm's ImageNet weights for {name} from {where} ({one_line(exc)}); " + _how_to_get_weights(name)
        ) from exc


def _how_to_get_weights(name: str) -> str:
    return (
        f"on a machine online, timm.create_model('{name}', pretrained=True) caches them (Hugging Face hub); "
        "save that model's state_dict() and set MODEL.BACKBONE.PRETRAIN_PATH /path/to/file.pth, "
        "or set MODEL.BACKBONE.PRETRAIN False to train from scratch"
    )


def _describe_source(name: str, pretrained: bool, pretrain_path: str) -> str:
    if not pretrained:
        return "none (random init)"
    return f"MODEL.BACKBONE.PRETRAIN_PATH {pretrain_path}" if pretrain_path else f"timm {name} ImageNet weights"


def build_timm_backbone(cfg: Config) -> TimmBackbone:
    """The timm backbone that cfg.MODEL.BACKBONE describes (pretrained weights loaded when PRETRAIN)."""
    bcfg = cfg.MODEL.BACKBONE
    return TimmBackbone(timm_model_name(cfg), bcfg.LAST_STRIDE, bcfg.PRETRAIN, bcfg.PRETRAIN_PATH)
