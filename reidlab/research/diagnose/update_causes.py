"""The four known reasons why training runs but the weights never change, in one place.

`doctor` (which sees the live optimiser) and `diagnose` (which reads a finished run) both name
these causes; the wording and the fixes live here so the two always say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

FASTREID_ZERO_GRAD_FIX = "optimizer.zero_grad(set_to_none=False)"
FASTREID_TRAIN_LOOP = "fastreid/engine/train_loop.py"
CONTIGUOUS_PARAMS_EXAMPLE = (
    "fast-reid >= 1.3's flattened ContiguousParams buffer, whose gradient torch >= 2's zero_grad(set_to_none=True) discards"
)


@dataclass(frozen=True)
class UpdateCause:
    """One known cause: a stable code, what it is in general, and how to fix it."""

    code: str
    what: str
    fix: str


OPTIMIZER_TENSORS = UpdateCause(
    "optimizer_tensors",
    f"the optimiser holds other tensors than the model does (e.g. {CONTIGUOUS_PARAMS_EXAMPLE}), so its steps never reach the weights",
    "build the optimiser over model.parameters() themselves",
)
ALL_FROZEN = UpdateCause(
    "all_frozen",
    "every layer is frozen (requires_grad False, or MODEL.FREEZE_LAYERS with a SOLVER.FREEZE_ITERS longer than the run)",
    "leave requires_grad True on the model's parameters, and keep SOLVER.FREEZE_ITERS well short of the run when MODEL.FREEZE_LAYERS is set",
)
ZERO_LR = UpdateCause(
    "zero_lr",
    "a learning-rate multiplier of 0 (SOLVER.BASE_LR, SOLVER.HEADS_LR_FACTOR or SOLVER.BIAS_LR_FACTOR)",
    "set SOLVER.BASE_LR (and the LR factors) above 0; bag of tricks uses 0.00035 with Adam",
)
AMP_SKIPS = UpdateCause(
    "amp_skips",
    "an AMP grad scaler that skips every step because every gradient is inf/NaN",
    "try SOLVER.AMP.ENABLED False; lower SOLVER.BASE_LR; check the input images",
)
KNOWN_CAUSES = (OPTIMIZER_TENSORS, ALL_FROZEN, ZERO_LR, AMP_SKIPS)

FASTREID_ZERO_GRAD = UpdateCause(
    "fastreid_zero_grad",
    "fast-reid >= 1.3 builds its optimiser over one flattened ContiguousParams buffer, and torch >= 2 changed the default of "
    "optimizer.zero_grad() to set_to_none=True, which throws that buffer's gradient away: Adam skips every step while "
    "training runs at full speed and logs normally",
    f"one line: in {FASTREID_TRAIN_LOOP}, call {FASTREID_ZERO_GRAD_FIX} instead of optimizer.zero_grad(); "
    "or train the same config with reidlab (`reidlab train`), whose optimiser holds the model's own parameters",
)


def known_causes_text() -> str:
    """'Known causes: (1) ...; (2) ...; (3) ...; (4) ....' for a finding's cause."""
    listed = "; ".join(f"({number}) {cause.what}" for number, cause in enumerate(KNOWN_CAUSES, 1))
    return f"Known causes of weights that do not update: {listed}."
