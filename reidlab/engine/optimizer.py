"""The optimiser with fast-reid's parameter groups (separate LR and weight decay for heads, biases, norms)."""

from __future__ import annotations

import torch
from torch import nn

from reidlab.config import Config
from reidlab.modeling import param_groups_spec


def build_optimizer(cfg: Config, model: nn.Module) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD over groups keyed by (lr, weight decay), as fast-reid builds them."""
    solver = cfg.SOLVER
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for spec in param_groups_spec(model):
        lr, weight_decay = solver.BASE_LR, solver.WEIGHT_DECAY
        if spec.kind == "head":
            lr *= solver.HEADS_LR_FACTOR
        if spec.is_norm:
            weight_decay = solver.WEIGHT_DECAY_NORM
        if spec.is_bias:
            lr *= solver.BIAS_LR_FACTOR
            weight_decay = solver.WEIGHT_DECAY_BIAS
        groups.setdefault((lr, weight_decay), []).append(spec.param)
    param_groups = [{"params": params, "lr": lr, "weight_decay": wd} for (lr, wd), params in groups.items()]
    fused = fused_option([p for params in groups.values() for p in params])
    if solver.OPT == "SGD":
        return torch.optim.SGD(param_groups, lr=solver.BASE_LR, momentum=solver.MOMENTUM, nesterov=solver.NESTEROV, **fused)
    optimizer_class = torch.optim.AdamW if solver.OPT == "AdamW" else torch.optim.Adam
    return optimizer_class(param_groups, lr=solver.BASE_LR, **fused)


def fused_option(params: list[nn.Parameter]) -> dict[str, bool]:
    """torch's fused kernels (one pass over every parameter) where they exist: float parameters on CPU or CUDA.

    On the CPU, torch otherwise updates one parameter at a time: fused is several times faster there.
    """
    supported = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return {"fused": True} if supported else {}
