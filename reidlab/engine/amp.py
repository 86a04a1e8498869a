"""What SOLVER.AMP.ENABLED means on each device: fp16 + GradScaler on CUDA, bf16 autocast on a CPU that
computes bf16 natively (AVX512-BF16 or AMX), float32 on any other CPU."""

from __future__ import annotations

from dataclasses import dataclass

import torch

NO_CPU_BF16 = "this CPU has no native bf16 (AVX512-BF16 or AMX), where bf16 autocast is many times slower than float32, so SOLVER.AMP.ENABLED runs in float32"


def cpu_has_native_bf16() -> bool:
    """oneDNN's own test: is bf16 computed in hardware on this CPU?"""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


@dataclass(frozen=True)
class AmpSettings:
    enabled: bool
    dtype: torch.dtype
    uses_grad_scaler: bool
    note: str = ""  # why AMP asked for is not used, in plain words

    @classmethod
    def for_device(cls, enabled: bool, device: torch.device) -> "AmpSettings":
        if not enabled:
            return cls(False, torch.float32, False)
        if device.type == "cuda":
            return cls(True, torch.float16, True)
        if not cpu_has_native_bf16():
            return cls(False, torch.float32, False, NO_CPU_BF16)
        # bf16 has float32's range, so no loss scaling is needed on the CPU.
        return cls(True, torch.bfloat16, False)

    def describe(self) -> str:
        if not self.enabled:
            return f"off (float32: {self.note})" if self.note else "off (float32)"
        return f"{str(self.dtype).removeprefix('torch.')} autocast" + (" with GradScaler" if self.uses_grad_scaler else "")
