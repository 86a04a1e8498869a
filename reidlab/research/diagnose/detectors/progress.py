"""Detectors that read how mAP and the training loss moved: overfitting, stopped too early, converged."""

from __future__ import annotations

from statistics import mean

from reidlab.research.diagnose.findings import Finding, Severity
from reidlab.research.diagnose.remedies import Remedy
from reidlab.research.runs import RunEvidence

REAL_DROP = 0.01  # an mAP fall counts when above 1 point and above 5 % of the best
REAL_DROP_RELATIVE = 0.05
LOSS_STILL_FALLING = 0.05  # training loss 5 % lower than at the reference epoch
NEAR_BEST = 0.005  # last evaluation within half a point (or 2 %) of the best: plateaued
NEAR_BEST_RELATIVE = 0.02
BUDGET_STOPS = ("max_epochs", "time_limit")


def overfitting(run: RunEvidence) -> Finding | None:
    """Training loss keeps falling while mAP falls from its best."""
    evaluated = run.evaluated
    if len(evaluated) < 3:
        return None
    best = _best_record(evaluated)
    after = [r for r in evaluated if r["epoch"] > best["epoch"]]
    last = evaluated[-1]
    drop = best["mAP"] - last["mAP"]
    if len(after) < 2 or drop < max(REAL_DROP, REAL_DROP_RELATIVE * best["mAP"]):
        return None
    loss_at_best, loss_last = _loss_at(run, best["epoch"]), _last_loss(run)
    if loss_at_best is None or loss_last is None or loss_last > (1 - LOSS_STILL_FALLING) * loss_at_best:
        return None
    return Finding(
        "overfitting",
        Severity.WARNING,
        f"Overfitting: mAP fell from {best['mAP']:.4f} (epoch {best['epoch']}) to {last['mAP']:.4f} while the training loss kept falling",
        {
            "best_mAP": round(best["mAP"], 4),
            "best_epoch": best["epoch"],
            "last_mAP": round(last["mAP"], 4),
            "last_evaluated_epoch": last["epoch"],
            "mAP_drop": round(drop, 4),
            "train_loss_at_best": round(loss_at_best, 4),
            "train_loss_last": round(loss_last, 4),
            "train_loss_fall_after_best": f"{100 * (1 - loss_last / loss_at_best):.1f}%",
        },
        cause="The model keeps fitting the training identities but generalises worse to new ones: it memorises.",
        fix="Use best_model.pth (the best epoch), not model_final.pth; stop earlier (lower SOLVER.EARLY_STOP.PATIENCE or MAX_EPOCH); "
        "regularise more: random erasing, label smoothing, weight decay.",
        remedies=[_regularise_remedy(run)],
    )


def _regularise_remedy(run: RunEvidence) -> Remedy:
    changes: dict = {}
    if not run.setting("INPUT.REA.ENABLED"):
        changes["INPUT.REA.ENABLED"] = True
    if "CrossEntropyLoss" in (run.setting("MODEL.LOSSES.NAME") or []) and not run.setting("MODEL.LOSSES.CE.EPSILON"):
        changes["MODEL.LOSSES.CE.EPSILON"] = 0.1
    if not changes:
        decay = float(run.setting("SOLVER.WEIGHT_DECAY"))
        changes["SOLVER.WEIGHT_DECAY"] = float(f"{decay * 2:.4g}") if decay else 5e-4
    keys = ", ".join(f"{k} {v}" for k, v in changes.items())
    return Remedy("fix_overfitting", changes, tests=f"Does more regularisation keep mAP from falling? {keys}.", why="mAP fell from its best while the training loss kept falling.", origin="overfitting")


def still_improving(run: RunEvidence) -> Finding | None:
    """Stopped by its budget while mAP was still rising, or by a patience shorter than the curve's patience."""
    evaluated = run.evaluated
    if len(evaluated) < 2:
        return None
    best, last = _best_record(evaluated), evaluated[-1]
    if run.stop_reason in BUDGET_STOPS and best["epoch"] == last["epoch"]:
        gain = last["mAP"] - evaluated[-2]["mAP"]
        return Finding(
            "still_improving",
            Severity.WARNING,
            f"Still improving when stopped: mAP rose to {last['mAP']:.4f} at the last evaluation (epoch {last['epoch']})",
            {"stop_reason": run.stop_reason, "last_mAP": round(last["mAP"], 4), "gain_at_last_evaluation": round(gain, 4), "max_epoch": run.setting("SOLVER.MAX_EPOCH"), "epochs_run": run.epochs_run},
            cause="The run ended on its epoch or time budget while its best result was its latest: it had not converged.",
            fix=f"Raise SOLVER.MAX_EPOCH (now {run.setting('SOLVER.MAX_EPOCH')}) and move the LR steps with it, or resume this run.",
            remedies=[_longer_training_remedy(run)],
        )
    if run.stop_reason == "patience_exhausted":
        return _patience_too_short(run, evaluated, best, last)
    return None


def _patience_too_short(run: RunEvidence, evaluated: list[dict], best: dict, last: dict) -> Finding | None:
    """Early stopping fired while the loss still fell and before the LR had decayed: patience, not the model, ended it."""
    loss_at_best, loss_last = _loss_at(run, best["epoch"]), _last_loss(run)
    lrs = run.values("lr")
    if loss_at_best is None or loss_last is None or not lrs:
        return None
    falling = loss_last <= (1 - LOSS_STILL_FALLING) * loss_at_best
    not_decayed = lrs[-1] >= 0.9 * max(lrs)
    near_best = last["mAP"] >= best["mAP"] - max(REAL_DROP, REAL_DROP_RELATIVE * best["mAP"])
    if not (falling and not_decayed and near_best):
        return None
    patience, period = run.setting("SOLVER.EARLY_STOP.PATIENCE"), run.setting("TEST.EVAL_PERIOD")
    return Finding(
        "still_improving",
        Severity.WARNING,
        f"Stopped by patience while the loss was still falling and before any LR decay (patience {patience} evaluations)",
        {
            "patience_evaluations": patience,
            "eval_period_epochs": period,
            "best_epoch": best["epoch"],
            "stop_epoch": run.epochs_run,
            "train_loss_at_best": round(loss_at_best, 4),
            "train_loss_last": round(loss_last, 4),
            "lr_last": lrs[-1],
            "lr_max": max(lrs),
        },
        cause="mAP is noisy between evaluations; with so short a patience a flat stretch ends the run before the LR decay that usually brings the next gain.",
        fix="Raise SOLVER.EARLY_STOP.PATIENCE so that it spans the first LR step, or resume this run with a larger patience.",
        remedies=[_longer_training_remedy(run)],
    )


def _longer_training_remedy(run: RunEvidence) -> Remedy:
    max_epoch = int(run.setting("SOLVER.MAX_EPOCH"))
    patience = int(run.setting("SOLVER.EARLY_STOP.PATIENCE"))
    changes: dict = {"SOLVER.MAX_EPOCH": 2 * max_epoch, "SOLVER.EARLY_STOP.PATIENCE": max(2 * patience, patience + 3)}
    if run.setting("SOLVER.SCHED") == "MultiStepLR":
        inside = [2 * int(step) for step in run.setting("SOLVER.STEPS") or [] if int(step) < max_epoch]
        if inside:  # steps beyond the run are schedule_detectors' business
            changes["SOLVER.STEPS"] = inside
    return Remedy(
        "fix_longer_training",
        changes,
        tests=f"Does the curve keep rising with more room? MAX_EPOCH {2 * max_epoch}, patience {changes['SOLVER.EARLY_STOP.PATIENCE']}, LR steps scaled with it.",
        why="The run stopped while it was still improving.",
        origin="still_improving",
    )


def never_evaluated(run: RunEvidence) -> Finding | None:
    if run.evaluated or not run.history:
        return None
    period = run.setting("TEST.EVAL_PERIOD")
    return Finding(
        "never_evaluated",
        Severity.NOTE,
        "mAP was never measured, so nothing can be said about generalisation",
        {"epochs_run": run.epochs_run, "eval_period": period},
        cause=f"The run stopped after {run.epochs_run} epochs, before its first evaluation (TEST.EVAL_PERIOD {period}).",
        fix="Lower TEST.EVAL_PERIOD so that mAP is measured a few times per run.",
    )


def healthy_plateau(run: RunEvidence) -> Finding:
    """The verdict when no detector found a problem: converged (or simply healthy so far), with its numbers."""
    evaluated = run.evaluated
    losses = run.values("loss")
    evidence: dict = {"epochs_run": run.epochs_run, "stop_reason": run.stop_reason}
    if len(losses) >= 2:
        window = losses[-3:]
        evidence["loss_change_last_epochs"] = f"{100 * (window[-1] / window[0] - 1):+.1f}%" if window[0] else None
    if not evaluated:
        return Finding("healthy", Severity.OK, "No problem found in the recorded curves", evidence, cause="No detector found a problem.", fix="Nothing to fix.")
    best, last = _best_record(evaluated), evaluated[-1]
    evidence.update(best_mAP=round(best["mAP"], 4), best_epoch=best["epoch"], last_mAP=round(last["mAP"], 4), evaluations=len(evaluated))
    converged = run.stop_reason == "patience_exhausted" or (
        len(evaluated) >= 3 and last["mAP"] >= best["mAP"] - max(NEAR_BEST, NEAR_BEST_RELATIVE * best["mAP"])
    )
    if not converged:
        return Finding("healthy", Severity.OK, f"No problem found: best mAP {best['mAP']:.4f} at epoch {best['epoch']}", evidence, cause="No detector found a problem.", fix="Nothing to fix.")
    return Finding(
        "healthy_plateau",
        Severity.OK,
        f"Healthy plateau: converged at mAP {best['mAP']:.4f} (epoch {best['epoch']}); nothing is wrong with the training",
        evidence,
        cause="The loss fell, the classifier learned, nothing diverged or overfitted, and mAP stopped improving: this is convergence, not a fault.",
        fix="No training fix is needed. A higher plateau needs a change of model or data (a larger backbone, IBN, more data, a larger input) "
        "or test-time tricks (flip test, re-ranking). The remedies below measure how much the knobs can still move it; expect them within noise.",
    )


def _best_record(evaluated: list[dict]) -> dict:
    """The highest mAP; the earliest among equals (as the trainer keeps the first best)."""
    return max(evaluated, key=lambda r: (r["mAP"], -r["epoch"]))


def _loss_at(run: RunEvidence, epoch: int) -> float | None:
    return next((r.get("loss") for r in run.history if r["epoch"] == epoch), None)


def _last_loss(run: RunEvidence) -> float | None:
    losses = run.values("loss")
    return mean(losses[-2:]) if losses else None
