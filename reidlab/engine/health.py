"""Training-health signals: cheap measurements that make silent failures visible.

A run whose weights never change (the fast-reid + torch 2 zero_grad bug), a frozen
backbone, or a scaler that skips every step all look normal in the loss log; these
numbers do not.
"""

from __future__ import annotations

import torch
from torch import nn


def gradient_norm(parameters: list[nn.Parameter]) -> torch.Tensor:
    """Global L2 norm of the gradients (0 when no parameter has a gradient), without a host sync."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


class ParameterSnapshot:
    """A copy of parameters at one moment, to measure how far training moved them."""

    def __init__(self, groups: dict[str, list[nn.Parameter]]):
        self.groups = groups
        self.before = {name: [p.detach().clone() for p in params] for name, params in groups.items()}

    @torch.no_grad()
    def changes(self) -> dict[str, float]:
        """update_ratio_<group> = ||after - before|| / ||before||, and the fraction of unchanged values."""
        out: dict[str, float] = {}
        unchanged = total = 0
        for name, params in self.groups.items():
            delta_sq = norm_sq = 0.0
            for p, old in zip(params, self.before[name]):
                diff = p.detach() - old
                delta_sq += float(diff.float().pow(2).sum())
                norm_sq += float(old.float().pow(2).sum())
                unchanged += int((diff == 0).sum())
                total += diff.numel()
            out[f"update_ratio_{name}"] = (delta_sq**0.5) / (norm_sq**0.5) if norm_sq > 0 else 0.0
        out["unchanged_fraction"] = unchanged / total if total else 1.0
        return out
