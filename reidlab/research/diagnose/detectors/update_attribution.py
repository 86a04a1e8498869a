"""Which known cause of weights that do not update applies to a run, with the evidence; which are ruled out.

Each check reads what the run's files show (config, recorded LR and gradient norm, AMP mode,
library versions) and returns a verdict: applies (with the numbers), ruled out (with the numbers),
or unknown (the files cannot tell). `update_causes` holds the causes' wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from reidlab.research.diagnose.update_causes import ALL_FROZEN, AMP_SKIPS, FASTREID_ZERO_GRAD, OPTIMIZER_TENSORS, ZERO_LR, UpdateCause
from reidlab.research.runs import RunEvidence, parse_version

RECENT_EPOCHS = 3
BUGGY_FASTREID = (1, 3)  # first fast-reid release with the flattened ContiguousParams optimiser
SET_TO_NONE_TORCH = (2,)  # torch 2.0 made zero_grad(set_to_none=True) the default
EVERY_LAYER = {"backbone", "heads"}  # fast-reid's Baseline: MODEL.FREEZE_LAYERS names its children


@dataclass
class Verdict:
    cause: UpdateCause
    reason: str  # what the run shows, with numbers
    evidence: dict = field(default_factory=dict)


@dataclass
class Attribution:
    applies: list[Verdict] = field(default_factory=list)
    ruled_out: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # known causes the files can neither confirm nor rule out

    @property
    def primary(self) -> Verdict | None:
        return self.applies[0] if self.applies else None


def attribute(run: RunEvidence) -> Attribution:
    """Run every check, most definite evidence first (a config value before an inference)."""
    result = Attribution()
    checks: list[Callable[[RunEvidence, Attribution], None]] = [_zero_lr, _frozen, _amp_skips, _optimizer_tensors]
    for check in checks:
        check(run, result)
    return result


def _zero_lr(run: RunEvidence, result: Attribution) -> None:
    base, heads, bias = (float(run.setting(k) or 0.0) for k in ("SOLVER.BASE_LR", "SOLVER.HEADS_LR_FACTOR", "SOLVER.BIAS_LR_FACTOR"))
    logged = [value for _, value in run.curve("lr")]
    if base == 0:
        result.applies.append(Verdict(ZERO_LR, "SOLVER.BASE_LR is 0, so every optimiser step is empty", {"base_lr": base}))
    elif logged and max(logged) == 0:
        result.applies.append(Verdict(ZERO_LR, f"the logged learning rate is 0 at every one of {len(logged)} records", {"max_logged_lr": 0.0}))
    elif heads == 0:
        result.applies.append(
            Verdict(ZERO_LR, "SOLVER.HEADS_LR_FACTOR is 0: the head (BNNeck and classifier) never moves, which alone keeps CE where it started",
                    {"heads_lr_factor": heads})
        )
    else:
        lr = f", logged LR up to {max(logged):.3g}" if logged else ""
        note = "; BIAS_LR_FACTOR 0 only stops the biases" if bias == 0 else ""
        result.ruled_out.append(f"an LR of 0: BASE_LR {base:g}, HEADS_LR_FACTOR {heads:g}, BIAS_LR_FACTOR {bias:g}{lr}{note}")


def _frozen(run: RunEvidence, result: Attribution) -> None:
    grads = _recent_grad_norms(run)
    finite = [g for g in grads if g is not None]
    if finite and max(finite) == 0:
        result.applies.append(Verdict(ALL_FROZEN, "grad_norm is 0 in every recent epoch: no gradient reaches any weight (every layer frozen, or the loss detached)",
                                      {"max_grad_norm_recent": 0.0}))
        return
    layers = [str(layer) for layer in run.setting("MODEL.FREEZE_LAYERS") or []]
    named = {"heads" if layer == "head" else layer for layer in layers}  # reidlab also accepts "head"
    freeze_iters = int(run.setting("SOLVER.FREEZE_ITERS") or 0)
    iterations = run.iterations_run
    if layers and freeze_iters > 0 and iterations is not None and freeze_iters >= iterations:
        numbers = {"freeze_layers": layers, "freeze_iters": freeze_iters, "iterations_run": iterations}
        if EVERY_LAYER <= named:
            result.applies.append(Verdict(ALL_FROZEN, f"MODEL.FREEZE_LAYERS {layers} with SOLVER.FREEZE_ITERS {freeze_iters} covers all {iterations} iterations run", numbers))
        else:
            result.ruled_out.append(f"every layer frozen: MODEL.FREEZE_LAYERS {layers} froze only those for the whole run ({freeze_iters} >= {iterations} iterations); the rest still trains")
        return
    if finite:
        result.ruled_out.append(f"every layer frozen: gradients reach the weights (grad_norm up to {max(finite):.3g})")
    elif layers and freeze_iters > 0 and iterations is not None:
        result.ruled_out.append(f"every layer frozen: MODEL.FREEZE_LAYERS {layers} were frozen only for the first {freeze_iters} of {iterations} iterations")
    elif run.iterations and not layers:
        result.ruled_out.append("every layer frozen by the config: MODEL.FREEZE_LAYERS is empty (requires_grad set in code cannot be seen in the logs)")
    else:
        result.unknown.append(ALL_FROZEN.what)


SKIPPED_EVERY_STEP = 0.99  # fraction of an epoch's steps with inf/NaN gradients that counts as "every step"


def _amp_skips(run: RunEvidence, result: Attribution) -> None:
    if not run.setting("SOLVER.AMP.ENABLED"):
        result.ruled_out.append("an AMP grad scaler skipping steps: SOLVER.AMP.ENABLED is False")
        return
    if run.amp_mode is not None and "GradScaler" not in run.amp_mode:
        result.ruled_out.append(f"an AMP grad scaler skipping steps: AMP ran as {run.amp_mode}, without a scaler")
        return
    skipped = [r["nonfinite_grad_fraction"] for r in run.history[-RECENT_EPOCHS:] if r.get("nonfinite_grad_fraction") is not None]
    if skipped:
        if min(skipped) >= SKIPPED_EVERY_STEP:
            result.applies.append(Verdict(AMP_SKIPS, f"AMP is on and {min(skipped):.0%} or more of the steps of each of the last {len(skipped)} epochs had inf/NaN gradients, which the scaler skips",
                                          {"nonfinite_grad_fraction_recent": min(skipped)}))
        else:
            result.ruled_out.append(f"an AMP grad scaler skipping every step: at most {max(skipped):.0%} of the recent steps had inf/NaN gradients")
        return
    grads = _recent_grad_norms(run)
    if grads and all(g is None for g in grads):
        result.applies.append(Verdict(AMP_SKIPS, f"AMP is on and grad_norm was not finite in each of the last {len(grads)} epochs", {"grad_norm_recent": "not finite"}))
    elif grads:
        finite = max(g for g in grads if g is not None)
        result.ruled_out.append(f"an AMP grad scaler skipping every step: gradients were finite (grad_norm up to {finite:.3g})")
    else:
        result.unknown.append(f"{AMP_SKIPS.what} (AMP is on, and the run logs no gradient norm to rule it out)")


def _optimizer_tensors(run: RunEvidence, result: Attribution) -> None:
    if run.iterations or "fastreid" in run.versions:
        _fastreid_zero_grad(run, result)
        return
    grads = [g for g in _recent_grad_norms(run) if g is not None]
    if not result.applies and grads and max(grads) > 0:
        lrs = run.last_values("lr", RECENT_EPOCHS)
        lr = f" and the LR is {max(lrs):.3g}" if lrs else ""
        result.applies.append(
            Verdict(OPTIMIZER_TENSORS, f"Gradients exist (grad_norm {max(grads):.3g}){lr} but the optimiser step does not apply them: "
                    "its tensors are not the model's, or zero_grad() runs between backward() and step()", {"mean_grad_norm": float(f"{max(grads):.4g}")})
        )
    elif not result.applies:
        result.unknown.append(OPTIMIZER_TENSORS.what)


def _fastreid_zero_grad(run: RunEvidence, result: Attribution) -> None:
    fastreid, torch = run.versions.get("fastreid"), run.versions.get("torch")
    fastreid_v, torch_v = parse_version(fastreid), parse_version(torch)
    shown = {"fastreid_version": fastreid or "unknown", "torch_version": torch or "unknown"}
    if torch_v is not None and torch_v < SET_TO_NONE_TORCH:
        result.ruled_out.append(f"fast-reid's zero_grad bug: PyTorch {torch} keeps gradients on zero_grad() (set_to_none=False is its default before 2.0)")
    elif fastreid_v is not None and fastreid_v < BUGGY_FASTREID:
        result.ruled_out.append(f"fast-reid's zero_grad bug: fastreid {fastreid} predates the flattened parameter buffer (1.3)")
    elif fastreid_v is not None and torch_v is not None:
        result.applies.append(Verdict(
            FASTREID_ZERO_GRAD,
            f"log.txt shows fastreid {fastreid} on PyTorch {torch} (if that fast-reid was already patched, look at the labels next: see the chance-level finding)",
            shown,
        ))
    else:
        missing = " and ".join(name for name, v in (("fast-reid's", fastreid_v), ("PyTorch's", torch_v)) if v is None)
        result.unknown.append(f"{OPTIMIZER_TENSORS.what} ({missing} version is not in log.txt; with fast-reid >= 1.3 on PyTorch >= 2 this is the cause)")


def _recent_grad_norms(run: RunEvidence) -> list[float | None]:
    """grad_norm of the last epochs that recorded one; None where it was recorded as not finite."""
    return [r["grad_norm"] for r in run.history[-RECENT_EPOCHS:] if "grad_norm" in r]
