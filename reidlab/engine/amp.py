"""What SOLVER.AMP.ENABLED means on each device: fp16 + GradScaler on CUDA, bf16 autocast on CPU."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AmpSettings:
    enabled: bool
    dtype: torch.dtype
    uses_grad_scaler: bool

    @classmethod
    def for_device(cls, enabled: bool, device: torch.device) -> "AmpSettings":
        if not enabled:
            return cls(False, torch.float32, False)
        if device.type == "cuda":
            return cls(True, torch.float16, True)
        # bf16 has float32's range, so no loss scaling is needed on the CPU.
        return cls(True, torch.bfloat16, False)

    def describe(self) -> str:
        if not self.enabled:
            return "off (float32)"
        return f"{str(self.dtype).removeprefix('torch.')} autocast" + (" with GradScaler" if self.uses_grad_scaler else "")
