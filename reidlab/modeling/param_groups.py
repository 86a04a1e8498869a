"""Which part each parameter belongs to and whether it is a norm or a bias.

The engine builds fast-reid's optimizer groups from this (HEADS_LR_FACTOR for the head,
WEIGHT_DECAY_NORM for normalisation layers, WEIGHT_DECAY_BIAS and BIAS_LR_FACTOR for biases)
without knowing the model's module layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

NORM_LAYER_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,  # BatchNorm1d/2d/3d, SyncBatchNorm, InstanceNorm
    nn.GroupNorm,
    nn.LayerNorm,
    nn.LocalResponseNorm,
)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter and the facts that decide its optimizer group.

    A norm layer's bias is both is_norm and is_bias; fast-reid lets the bias rule win
    for weight decay (WEIGHT_DECAY_BIAS) and applies BIAS_LR_FACTOR to it.
    """

    name: str
    param: nn.Parameter
    kind: Literal["backbone", "head"]
    is_norm: bool
    is_bias: bool


def is_norm_layer(module: nn.Module) -> bool:
    """Whether `module` is a normalisation layer (its parameters get WEIGHT_DECAY_NORM)."""
    return isinstance(module, NORM_LAYER_TYPES)


def param_groups_spec(model: nn.Module, trainable_only: bool = True) -> list[ParamSpec]:
    """Every (trainable) parameter of a Baseline once, with its part ('backbone' or 'head'), is_norm and is_bias."""
    specs: list[ParamSpec] = []
    seen: set[int] = set()
    for module_name, module in model.named_modules():
        for param_name, param in module.named_parameters(recurse=False):
            if id(param) in seen or (trainable_only and not param.requires_grad):
                continue
            seen.add(id(param))
            name = f"{module_name}.{param_name}" if module_name else param_name
            kind: Literal["backbone", "head"] = "backbone" if name.startswith("backbone.") else "head"
            specs.append(ParamSpec(name, param, kind, is_norm_layer(module), param_name == "bias"))
    return specs
