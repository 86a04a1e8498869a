"""Detectors of learning-rate schedule mistakes, read from the config and the epoch length.

Epoch indices follow reidlab's (and fast-reid's) schedule: a step at epoch s lowers the LR from
0-based epoch s on, so a step at or beyond MAX_EPOCH never happens.
"""

from __future__ import annotations

from reidlab.engine import schedule_fit
from reidlab.research.diagnose.findings import Finding, Severity
from reidlab.research.diagnose.remedies import Remedy
from reidlab.research.runs import RunEvidence

MIN_COSINE_EPOCHS = 10  # a cosine shorter than this decays almost at once


def warmup_too_long(run: RunEvidence) -> Finding | None:
    warmup, ipe, max_epoch = _warmup(run), run.iters_per_epoch, _max_epoch(run)
    if not warmup or not ipe:
        return None
    total = ipe * max_epoch
    if not schedule_fit.warmup_too_long(warmup, ipe, max_epoch):
        return None
    return Finding(
        "warmup_too_long",
        Severity.WARNING,
        f"Warmup covers {100 * warmup / total:.0f}% of training ({warmup} of {total} iterations)",
        {"warmup_iters": warmup, "iters_per_epoch": ipe, "warmup_epochs": round(warmup / ipe, 2), "max_epoch": max_epoch, "warmup_fraction": round(warmup / total, 3)},
        cause="WARMUP_ITERS counts iterations, not epochs; with this data set and batch an epoch is only "
        f"{ipe} iterations, so the LR stays below BASE_LR for {warmup / ipe:.1f} epochs.",
        fix=f"Set SOLVER.WARMUP_ITERS to about {sane_warmup_iters(run)} (5% of training).",
        remedies=[schedule_remedy(run, "warmup_too_long")],
    )


def steps_beyond_max_epoch(run: RunEvidence) -> Finding | None:
    if run.setting("SOLVER.SCHED") != "MultiStepLR":
        return None
    steps, max_epoch = _steps(run), _max_epoch(run)
    late = [s for s in steps if s >= max_epoch]
    if not late:
        return None
    never = len(late) == len(steps)
    return Finding(
        "steps_beyond_max_epoch",
        Severity.WARNING,
        f"LR milestones {late} are at or beyond MAX_EPOCH {max_epoch}: {'the LR never decays' if never else 'those drops never happen'}",
        {"steps": steps, "max_epoch": max_epoch, "steps_never_reached": late},
        cause="The step schedule was written for a longer run (bag of tricks: 120 epochs); MAX_EPOCH was shortened without moving the steps.",
        fix=f"Move SOLVER.STEPS inside the run, e.g. {sane_steps(run)}, or use SOLVER.SCHED CosineAnnealingLR.",
        remedies=[schedule_remedy(run, "steps_beyond_max_epoch")],
    )


def steps_before_warmup_ends(run: RunEvidence) -> Finding | None:
    if run.setting("SOLVER.SCHED") != "MultiStepLR":
        return None
    warmup, ipe = _warmup(run), run.iters_per_epoch
    if not warmup or not ipe:
        return None
    early = [s for s in _steps(run) if s * ipe < warmup]
    if not early:
        return None
    return Finding(
        "steps_before_warmup_ends",
        Severity.WARNING,
        f"LR milestones {early} come before warmup ends (epoch {warmup / ipe:.1f})",
        {"steps": _steps(run), "warmup_iters": warmup, "iters_per_epoch": ipe, "warmup_end_epoch": round(warmup / ipe, 2)},
        cause="The LR is cut while it is still warming up, so it never reaches BASE_LR.",
        fix=_steps_after_warmup_fix(run),
        remedies=[schedule_remedy(run, "steps_before_warmup_ends")],
    )


def _steps_after_warmup_fix(run: RunEvidence) -> str:
    """Move the steps, or, where the steps already fit a sane warm-up, shorten the warm-up instead."""
    if sane_steps(run) != _steps(run):
        return f"Put the steps after warmup, e.g. {sane_steps(run)}, or shorten SOLVER.WARMUP_ITERS."
    return f"Shorten SOLVER.WARMUP_ITERS to about {sane_warmup_iters(run)} (5% of training); the steps {_steps(run)} then come after it."


def short_cosine(run: RunEvidence) -> Finding | None:
    if run.setting("SOLVER.SCHED") != "CosineAnnealingLR":
        return None
    max_epoch, delay = _max_epoch(run), int(run.setting("SOLVER.DELAY_EPOCHS") or 0)
    span = max_epoch - delay
    ipe, warmup = run.iters_per_epoch, _warmup(run)
    warmup_epochs = warmup / ipe if ipe else 0.0
    if span >= MIN_COSINE_EPOCHS and span > 2 * warmup_epochs:
        return None
    return Finding(
        "short_cosine",
        Severity.WARNING,
        f"Cosine decay over only {span} epochs",
        {"max_epoch": max_epoch, "delay_epochs": delay, "cosine_epochs": span, "warmup_epochs": round(warmup_epochs, 2)},
        cause="A cosine this short drops the LR to its floor almost at once (or while warmup is still running): little training happens at a useful LR.",
        fix=f"Decay over at least {MIN_COSINE_EPOCHS} epochs and well past warmup: raise SOLVER.MAX_EPOCH or lower SOLVER.DELAY_EPOCHS.",
        remedies=[schedule_remedy(run, "short_cosine")],
    )


def schedule_remedy(run: RunEvidence, origin: str) -> Remedy:
    """One `fix_schedule` remedy for every schedule finding (diagnose merges those of the same name)."""
    changes: dict = {}
    if sane_warmup_iters(run) != _warmup(run):
        changes["SOLVER.WARMUP_ITERS"] = sane_warmup_iters(run)
    if run.setting("SOLVER.SCHED") == "MultiStepLR" and sane_steps(run) != _steps(run):
        changes["SOLVER.STEPS"] = sane_steps(run)
    if run.setting("SOLVER.SCHED") == "CosineAnnealingLR":
        max_epoch = _max_epoch(run)
        if max_epoch - int(run.setting("SOLVER.DELAY_EPOCHS") or 0) < MIN_COSINE_EPOCHS:
            changes["SOLVER.DELAY_EPOCHS"] = 0
            changes["SOLVER.MAX_EPOCH"] = max(max_epoch, MIN_COSINE_EPOCHS)
    described = ", ".join(f"{k} {v}" for k, v in changes.items()) or "no change"
    return Remedy("fix_schedule", changes, tests=f"Does a well-formed schedule help? {described}.", why=f"Schedule mistake found: {origin}.", origin=origin)


def sane_warmup_iters(run: RunEvidence) -> int:
    return schedule_fit.sane_warmup_iters(_warmup(run), run.iters_per_epoch or 0, _max_epoch(run))


def sane_steps(run: RunEvidence) -> list[int]:
    return schedule_fit.sane_steps(_warmup(run), run.iters_per_epoch or 0, _max_epoch(run))


def _steps(run: RunEvidence) -> list[int]:
    return sorted(int(s) for s in (run.setting("SOLVER.STEPS") or []))


def _warmup(run: RunEvidence) -> int:
    return int(run.setting("SOLVER.WARMUP_ITERS") or 0)


def _max_epoch(run: RunEvidence) -> int:
    return int(run.setting("SOLVER.MAX_EPOCH"))
