"""Doctor check 6: the weights change, per part (backbone, head), and if not, the most likely reason.

This is the check that catches the silent killer behind a CE stuck at chance (ln(#ids) with a
Linear classifier): fast-reid 1.4's optimizer over a flattened ContiguousParams buffer, whose
gradient torch 2's `zero_grad(set_to_none=True)` throws away, so Adam skips every step while the
log looks normal.
"""

from __future__ import annotations

import math

from torch import nn

from reidlab.config import Config
from reidlab.engine.trainer import Trainer
from reidlab.research.diagnose.update_causes import ALL_FROZEN, AMP_SKIPS, CONTIGUOUS_PARAMS_EXAMPLE, OPTIMIZER_TENSORS, ZERO_LR
from reidlab.research.doctor.overfit_check import UNCHANGED_RATIO, OverfitTrace
from reidlab.research.doctor.report import CheckResult, Status, fix_for_error

NAME, TITLE = "weights_change", "weights change"
PARTS = ("backbone", "head")


def check_weights_change(cfg: Config, trainer: Trainer, trace: OverfitTrace) -> CheckResult:
    """FAIL when a part's update ratio ||after - before|| / ||before|| stays below UNCHANGED_RATIO while the loss is positive."""
    facts = _part_facts(trainer)
    numbers: dict = {"threshold": UNCHANGED_RATIO, "steps": len(trace.losses), "unchanged_fraction": trace.changes.get("unchanged_fraction")}
    for part in PARTS:
        numbers[f"update_ratio_{part}"] = trace.changes.get(f"update_ratio_{part}", 0.0)
        numbers.update({f"{key}_{part}": value for key, value in facts[part].items()})
    finite = [g for g in trace.grad_norms if math.isfinite(g)]
    numbers.update(grad_norm_first=trace.grad_norms[0] if trace.grad_norms else None, nonfinite_grad_steps=len(trace.grad_norms) - len(finite))
    ratios = " ".join(f"{part} {numbers[f'update_ratio_{part}']:.2e}" for part in PARTS)
    summary = f"update ratio ||dW||/||W|| after {len(trace.losses)} steps: {ratios} (fail below {UNCHANGED_RATIO:g})"
    dead = [part for part in PARTS if numbers[f"update_ratio_{part}"] < UNCHANGED_RATIO]
    if not dead:
        return CheckResult(NAME, TITLE, Status.PASS, summary, numbers)
    if trace.losses and trace.initial <= 0:
        return CheckResult(NAME, TITLE, Status.WARN, summary + "; the loss is 0, so nothing needs to move", numbers)
    held = [part for part in dead if part in trainer.frozen.names and cfg.SOLVER.FREEZE_ITERS >= len(trace.losses)]
    if held == dead:
        return CheckResult(
            NAME, TITLE, Status.WARN,
            summary + f"; {', '.join(held)} held still on purpose: MODEL.FREEZE_LAYERS for the first {cfg.SOLVER.FREEZE_ITERS} iterations (SOLVER.FREEZE_ITERS)",
            numbers,
        )
    causes, fixes = zip(*(_diagnose(cfg, part, facts[part], trace) for part in dead))
    return CheckResult(NAME, TITLE, Status.FAIL, summary + f"; unchanged: {', '.join(dead)}", numbers, cause="; ".join(causes), fix="; ".join(dict.fromkeys(fixes)))


def check_weights_without_optimizer(model: nn.Module, error: str) -> CheckResult:
    """FAIL when no optimiser could be built at all (typically: no parameter requires a gradient)."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    numbers = {"parameters": total, "trainable_parameters": trainable}
    if trainable == 0:
        cause = "every layer is frozen (requires_grad False on all parameters), so the optimiser has nothing to update"
        return CheckResult(NAME, TITLE, Status.FAIL, f"0 of {total / 1e6:.2f} M parameters are trainable", numbers, cause=cause, fix=ALL_FROZEN.fix)
    return CheckResult(NAME, TITLE, Status.FAIL, "the optimiser could not be built", numbers, cause=error, fix=fix_for_error("building the optimiser"))


def _part_facts(trainer: Trainer) -> dict[str, dict]:
    """Per part: trainable tensors, how many of them the optimiser holds, and the largest LR they get."""
    held = {id(p): group["lr"] for group in trainer.optimizer.param_groups for p in group["params"]}
    facts = {}
    for part in PARTS:
        trainable = [p for p in trainer.param_groups.get(part, []) if p.requires_grad]
        in_optimizer = [p for p in trainable if id(p) in held]
        facts[part] = {
            "trainable_tensors": len(trainable),
            "optimizer_tensors": len(in_optimizer),
            "lr": max((held[id(p)] for p in in_optimizer), default=0.0),
        }
    return facts


def _diagnose(cfg: Config, part: str, facts: dict, trace: OverfitTrace) -> tuple[str, str]:
    """The most likely reason one part did not move, most specific first."""
    solver = cfg.SOLVER
    if facts["trainable_tensors"] == 0:
        return f"every {part} layer is frozen (requires_grad False)", ALL_FROZEN.fix
    if facts["optimizer_tensors"] < facts["trainable_tensors"]:
        return (
            f"the optimiser holds only {facts['optimizer_tensors']} of the {facts['trainable_tensors']} trainable {part} tensors: it was built over other "
            f"tensors (e.g. {CONTIGUOUS_PARAMS_EXAMPLE})",
            OPTIMIZER_TENSORS.fix,
        )
    if facts["lr"] == 0:
        factor = f" x HEADS_LR_FACTOR {solver.HEADS_LR_FACTOR:g}" if part == "head" else ""
        return f"the {part}'s learning rate is 0 (SOLVER.BASE_LR {solver.BASE_LR:g}{factor})", ZERO_LR.fix
    if trace.grad_norms and not any(math.isfinite(g) for g in trace.grad_norms):
        return "the AMP grad scaler skipped every step: every gradient was inf/NaN", AMP_SKIPS.fix
    if trace.grad_norms and max(trace.grad_norms) == 0:
        return f"no gradient reached the {part}: the loss is detached from it", "check that the loss is computed from the model's outputs"
    return (
        f"the optimiser holds the {part}'s parameters and they got gradients, yet they did not move: a skipped optimizer.step() or zero_grad between backward and step",
        "check the training step",
    )
