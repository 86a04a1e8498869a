"""bf16 autocast against float32 on the CPU, measured: what SOLVER.AMP.ENABLED buys (or costs) here.

On a CPU without native bf16 (AVX2 only), bf16 autocast is emulated and many times slower than
float32, which is why AMP runs float32 there (engine/amp.py). The doctor times both on the same
small batch, so the report shows the two speeds rather than a rule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from reidlab.engine.amp import AmpSettings, cpu_has_native_bf16
from reidlab.engine.trainer import Trainer

BF16 = AmpSettings(True, torch.bfloat16, False)
FP32 = AmpSettings(False, torch.float32, False)
MAX_STEPS = 3  # timed steps per precision after one untimed (kernel set-up)
MIN_IMAGES = 16  # whole identities of the fixed batch up to at least this many images: a real step, but bounded


@dataclass
class PrecisionTiming:
    """Images per second of training steps in float32 and in bf16 autocast, on the same images."""

    images: int
    fp32_images_per_second: float
    bf16_images_per_second: float
    native_bf16: bool
    warm_up_only: bool  # the budget allowed only the untimed first step of one precision: its time is used

    @property
    def bf16_speedup(self) -> float:
        return self.bf16_images_per_second / self.fp32_images_per_second

    def to_numbers(self) -> dict:
        return {"precision_images": self.images, "fp32_images_per_second": self.fp32_images_per_second, "bf16_images_per_second": self.bf16_images_per_second,
                "bf16_speedup": self.bf16_speedup, "native_bf16": self.native_bf16, "precision_warm_up_only": self.warm_up_only}

    def sentence(self) -> str:
        kind = "native bf16" if self.native_bf16 else "no native bf16 (bf16 is emulated)"
        first_only = "; only a first step fitted the budget, its set-up included" if self.warm_up_only else ""
        return (f"bf16 autocast {self.bf16_images_per_second:.1f} img/s vs float32 {self.fp32_images_per_second:.1f} img/s "
                f"(x{self.bf16_speedup:.2f}; {self.images} images a step{first_only}; this CPU has {kind})")


def whole_identities(images: torch.Tensor, targets: torch.Tensor, at_least: int = MIN_IMAGES) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's first identities (at least two, all their images) up to `at_least` images: a smaller batch the triplet loss can still use."""
    chosen: list[int] = []
    for identity in torch.unique_consecutive(targets).tolist():
        chosen.append(identity)
        if len(chosen) >= 2 and int(torch.isin(targets, torch.tensor(chosen, device=targets.device)).sum()) >= at_least:
            break
    keep = torch.isin(targets, torch.tensor(chosen, device=targets.device))
    return images[keep], targets[keep]


def time_precisions(trainer: Trainer, images: torch.Tensor, targets: torch.Tensor, budget_s: float) -> PrecisionTiming:
    """Training steps in float32, then in bf16 autocast, each given half of `budget_s`; the trainer's own AMP is restored."""
    images, targets = whole_identities(images, targets)
    own = trainer.amp
    try:
        fp32, warm_fp32 = _images_per_second(lambda: _step(trainer, FP32, images, targets), images.shape[0], budget_s / 2)
        bf16, warm_bf16 = _images_per_second(lambda: _step(trainer, BF16, images, targets), images.shape[0], budget_s / 2)
    finally:
        trainer.amp = own
    return PrecisionTiming(int(images.shape[0]), fp32, bf16, cpu_has_native_bf16(), warm_fp32 or warm_bf16)


def _step(trainer: Trainer, amp: AmpSettings, images: torch.Tensor, targets: torch.Tensor) -> None:
    trainer.amp = amp
    trainer.train_step(images, targets, epoch=1, step=0)


def _images_per_second(step: Callable[[], None], images: int, budget_s: float) -> tuple[float, bool]:
    """(images/s, whether only the untimed first step fitted the budget and its time is used instead)."""
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    timed: list[float] = []
    while len(timed) < MAX_STEPS and time.perf_counter() - start < budget_s:
        began = time.perf_counter()
        step()
        timed.append(time.perf_counter() - began)
    if not timed:
        return images / first, True
    return images * len(timed) / sum(timed), False
