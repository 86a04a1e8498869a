"""fast-reid checkpoints into reidlab's Baseline, by an explicit key map.

fast-reid's Checkpointer saves fvcore's {"model": state_dict, "iteration": ..., ...}. Its ResNet
keeps torchvision's layout (conv1, bn1, layer1-4, IBN's IN/BN), so those keys carry over as
they are; the rest is renamed here:

    backbone.NL_<s>.<j>.*         -> backbone.non_local.layer<s>_<block>.*  (the j-th of the stage's last blocks)
    heads.pool_layer.p            -> head.pool.p                            (learnable GeM)
    heads.bottleneck.0.*          -> head.bottleneck.*                      (BNNeck)
    heads.weight                  -> head.classifier.weight                 (Linear and the cosine layers alike)
    pixel_mean, pixel_std         -> the same                               (fast-reid <= 1.2 saved them)

Two layers differ in fast-reid, and `match_fastreid_layout` rebuilds them where exact features
matter (eval, deploy): its stem max-pool uses ceil_mode=True without padding, and its non-local
blocks are 1 channel wide (fast-reid computes reduc_ratio // reduc_ratio).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import torch
from torch import nn

from reidlab.errors import UserError
from reidlab.modeling.non_local import NonLocalBlock

CLASSIFIER_KEY = "head.classifier.weight"
_STAGE_KEY = re.compile(r"^backbone\.(conv1|bn1|layer[1-4])\.(.+)$")
_NON_LOCAL_KEY = re.compile(r"^backbone\.NL_([1-4])\.(\d+)\.(.+)$")
_RENAMED = {"heads.weight": CLASSIFIER_KEY, "heads.pool_layer.p": "head.pool.p", "pixel_mean": "pixel_mean", "pixel_std": "pixel_std"}
_BOTTLENECK_KEY = re.compile(r"^heads\.bottleneck\.0\.(weight|bias|running_mean|running_var|num_batches_tracked)$")


class WeightsError(UserError):
    """Weights that do not fit the model (a checkpoint of another tool, depth or layout), or no weights at all. One line."""


def fastreid_state(data: Any) -> dict[str, torch.Tensor] | None:
    """The model's state dict when `data` is a fast-reid checkpoint ({"model": ...} or the state dict itself); else None."""
    state = data.get("model") if isinstance(data, Mapping) and isinstance(data.get("model"), Mapping) else data
    if not isinstance(state, Mapping) or not state:
        return None
    keys = list(state)
    if not all(isinstance(k, str) for k in keys) or not any(k.startswith("backbone.") for k in keys) or not any(k.startswith("heads.") for k in keys):
        return None
    return dict(state)


def fastreid_classes(state: Mapping[str, torch.Tensor]) -> int:
    """How many identities the checkpoint's classifier has (0 when it has none)."""
    weight = state.get("heads.weight")
    return int(weight.shape[0]) if weight is not None else 0


def has_non_local(state: Mapping[str, torch.Tensor]) -> bool:
    return any(_NON_LOCAL_KEY.match(k) for k in state)


def map_fastreid_state(state: Mapping[str, torch.Tensor], model: nn.Module, source: str) -> dict[str, torch.Tensor]:
    """fast-reid's keys renamed to the Baseline's; a WeightsError naming the first keys that have no place."""
    stages = {f"layer{s}": len(getattr(model.backbone, f"layer{s}", ())) for s in range(1, 5)}
    per_stage: dict[str, int] = {}
    for key in state:
        if match := _NON_LOCAL_KEY.match(key):
            per_stage[match[1]] = max(per_stage.get(match[1], 0), int(match[2]) + 1)
    mapped: dict[str, torch.Tensor] = {}
    unplaced: list[str] = []
    for key, tensor in state.items():
        if ".se." in key:  # squeeze-and-excitation blocks: reidlab has none
            unplaced.append(key)
        elif match := _STAGE_KEY.match(key):
            mapped[key] = tensor
        elif match := _NON_LOCAL_KEY.match(key):
            stage = f"layer{match[1]}"
            block = stages[stage] - per_stage[match[1]] + int(match[2])  # fast-reid puts its blocks after the stage's last ones
            mapped[f"backbone.non_local.{stage}_{block}.{match[3]}"] = tensor
        elif match := _BOTTLENECK_KEY.match(key):
            mapped[f"head.bottleneck.{match[1]}"] = tensor
        elif key in _RENAMED:
            mapped[_RENAMED[key]] = tensor.reshape(1, -1, 1, 1) if key.startswith("pixel_") else tensor
        else:
            unplaced.append(key)
    if unplaced:
        hint = "; squeeze-and-excitation (WITH_SE) is not supported" if any(".se." in k for k in unplaced) else ""
        raise WeightsError(f"{source}: {len(unplaced)} fast-reid key(s) have no place in reidlab's model: {', '.join(unplaced[:4])}{hint}")
    return mapped


def match_fastreid_layout(model: nn.Module, mapped: Mapping[str, torch.Tensor]) -> None:
    """Rebuild the two layers fast-reid builds differently, so its weights give its own features."""
    backbone = model.backbone
    backbone.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
    for name, block in list(getattr(backbone, "non_local", {}).items()):
        width = mapped.get(f"backbone.non_local.{name}.g.weight")
        if width is not None and width.shape[0] != block.inter_channels:
            backbone.non_local[name] = NonLocalBlock(block.in_channels, inter_channels=int(width.shape[0]))


def load_exactly(model: nn.Module, mapped: Mapping[str, torch.Tensor], source: str) -> None:
    """Every tensor of the model from `mapped` (the pixel statistics may come from the config); a one-line WeightsError otherwise."""
    own = model.state_dict()
    state = {k: own[k] for k in ("pixel_mean", "pixel_std") if k not in mapped} | dict(mapped)
    problems = _mismatches(own, state) + [f"{k} is not in the checkpoint" for k in own if k not in state]
    if problems:
        raise WeightsError(f"{source}: the weights do not fit the model its config describes ({'; '.join(problems[:3])}); a checkpoint of another depth or layout?")
    model.load_state_dict(state)


def _mismatches(own: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> list[str]:
    return [f"{k} is {tuple(v.shape)} in the checkpoint but {tuple(own[k].shape)} here" for k, v in state.items() if k in own and own[k].shape != v.shape]
