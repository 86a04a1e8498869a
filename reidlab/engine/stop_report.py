"""STOPPING_REASON.txt: why the run stopped, how good it got, and what to try next, with evidence."""

from __future__ import annotations

import math
from pathlib import Path

from reidlab.config import Config
from reidlab.engine.schedule_fit import schedule_warnings
from reidlab.engine.stop_reasons import HEADLINES, Stop, StopReason
from reidlab.modeling.chance import ChanceLevel

CHANCE_MARGIN = 0.97  # CE within 3 % of chance (ln(#ids) for a Linear classifier, see ChanceLevel) is chance: 9 % below it has learned
MIN_EPOCHS_FOR_CHANCE = 3  # in the first epochs CE near chance is normal


def stopping_reason_text(stop: Stop, cfg: Config, info: dict, history: list[dict], run_dir: Path, resume_command: str) -> str:
    """The plain-words report written at the end of every run, whatever ended it."""
    solver = cfg.SOLVER
    headline = HEADLINES[stop.reason].format(
        metric=solver.EARLY_STOP.METRIC,
        patience=solver.EARLY_STOP.PATIENCE,
        max_epoch=solver.MAX_EPOCH,
        minutes=solver.TIME_LIMIT_MINUTES,
    )
    lines = [
        f"STOPPING REASON: {stop.reason.value}",
        "",
        headline,
        stop.message,
        f"Stopped at epoch {stop.epoch} of {solver.MAX_EPOCH}.",
        "",
        "RESULT",
        *_result_lines(info, run_dir),
        "",
        "FINAL LOSSES (last completed epoch)",
        *_loss_lines(cfg, history, info.get("num_classes")),
        "",
        "KEY HYPERPARAMETERS",
        *(f"  {name}: {value}" for name, value in info.get("hyperparameters", {}).items()),
        "",
        "WHAT TO TRY NEXT",
        *(f"  - {step}" for step in next_steps(stop, cfg, info, history, run_dir, resume_command)),
        "",
    ]
    return "\n".join(lines)


def _result_lines(info: dict, run_dir: Path) -> list[str]:
    best = info.get("best")
    if not best:
        return ["  No epoch was evaluated, so there is no best_model.pth."]
    return [
        f"  Best mAP: {best['mAP']:.4f} at epoch {best['epoch']} "
        f"(rank-1 {best['rank1']:.4f}, rank-5 {best['rank5']:.4f}, mINP {best['mINP']:.4f})",
        f"  Best weights: {run_dir / 'best_model.pth'}",
    ]


def _loss_lines(cfg: Config, history: list[dict], num_classes: int | None) -> list[str]:
    if not history:
        return ["  No epoch completed."]
    last = history[-1]
    lines = [f"  {name}: {_fmt(last[name])}" for name in last if name.startswith("loss")]
    chance = _chance_level(cfg, num_classes)
    if last.get("loss_ce") is not None and chance is not None:
        weight = cfg.MODEL.LOSSES.CE.SCALE
        times = f"; loss_ce is the cross-entropy x MODEL.LOSSES.CE.SCALE {weight:g}" if weight != 1 else ""
        lines.append(f"  (cross-entropy at chance level would be {chance.describe()}{times})")
    return lines


def _chance_level(cfg: Config, num_classes: int | None) -> ChanceLevel | None:
    """The chance CE of the run's classifier (MODEL.HEADS.NUM_CLASSES outputs when set, else one per training id)."""
    outputs = cfg.MODEL.HEADS.NUM_CLASSES or num_classes
    return ChanceLevel.of(cfg, outputs) if outputs else None


def _fmt(value) -> str:
    return "not finite" if value is None or not math.isfinite(value) else f"{value:.4f}"


def next_steps(stop: Stop, cfg: Config, info: dict, history: list[dict], run_dir: Path, resume_command: str) -> list[str]:
    """Advice that follows from the stop reason and from the curves."""
    solver = cfg.SOLVER
    steps: list[str] = []
    reason = stop.reason
    if reason is StopReason.OUT_OF_MEMORY:
        k = cfg.DATALOADER.NUM_INSTANCE
        smaller = max(k * 2, (solver.IMS_PER_BATCH // 2) // k * k)
        steps.append(
            f"Lower SOLVER.IMS_PER_BATCH from {solver.IMS_PER_BATCH} to {smaller} and keep DATALOADER.NUM_INSTANCE {k} "
            f"(so each batch still holds {smaller // k} identities x {k} images); scale SOLVER.BASE_LR by the same factor."
        )
        if not solver.AMP.ENABLED:
            steps.append("Enable mixed precision: SOLVER.AMP.ENABLED True (about half the activation memory).")
        steps.append(f"Or train at a smaller INPUT.SIZE_TRAIN than {cfg.INPUT.SIZE_TRAIN}.")
    elif reason is StopReason.DIVERGED:
        steps.append(f"Lower SOLVER.BASE_LR from {solver.BASE_LR:g} to {solver.BASE_LR / 10:g}.")
        steps.append(f"Lengthen warmup: SOLVER.WARMUP_ITERS {max(solver.WARMUP_ITERS * 2, 500)}.")
        if solver.AMP.ENABLED:
            steps.append("If it diverges again, try SOLVER.AMP.ENABLED False to rule out fp16 overflow.")
    elif reason is StopReason.TIME_LIMIT:
        more = solver.TIME_LIMIT_MINUTES * 2
        steps.append(
            f"Continue with more time (the limit counts the whole run, earlier sessions included; 0 means none): "
            f"{resume_command} SOLVER.TIME_LIMIT_MINUTES {more:g}"
        )
    elif reason in (StopReason.INTERRUPTED, StopReason.PAUSED):
        steps.append(f"Continue where it stopped (from the last completed epoch): {resume_command}")
    elif reason is StopReason.ERROR:
        steps.append(f"Read the traceback at the end of {run_dir / 'log.txt'}; fix the cause, then resume: {resume_command}")
    else:
        steps.extend(_curve_advice(cfg, info, history, reason))
    warmup = _warmup_advice(cfg, info)
    steps.extend(warmup)
    steps.extend(_chance_level_advice(cfg, info, history, warmup_to_blame=bool(warmup)))
    return steps


def _warmup_advice(cfg: Config, info: dict) -> list[str]:
    """Warm-up that covered most of the run (the rule `train` warned of at the start)."""
    iterations, epochs = info.get("iterations"), info.get("epochs_run")
    if not isinstance(iterations, int) or not isinstance(epochs, int) or epochs <= 0 or iterations <= 0:
        return []
    per_epoch = max(1, round(iterations / epochs))
    warnings = [w for w in schedule_warnings(cfg.SOLVER.WARMUP_ITERS, per_epoch, cfg.SOLVER.MAX_EPOCH, "", []) if w.problem.startswith("SOLVER.WARMUP_ITERS")]
    return [f"Warm-up covered most of the run: {w.problem}; {w.fix}." for w in warnings]


def _curve_advice(cfg: Config, info: dict, history: list[dict], reason: StopReason) -> list[str]:
    evaluated = [r for r in history if r.get("mAP") is not None]
    best = info.get("best")
    if not evaluated or not best:
        return ["No evaluation ran: lower TEST.EVAL_PERIOD so that mAP is measured."]
    advice = []
    last_epoch = evaluated[-1]["epoch"]
    if len(evaluated) == 1:  # one point is no curve: neither "peaked" nor "rising" can be told
        advice.append(f"Only one evaluation ran (epoch {last_epoch}): lower TEST.EVAL_PERIOD (now {cfg.TEST.EVAL_PERIOD}) to see how mAP moves.")
    elif best["epoch"] == last_epoch:
        patience = "" if reason is StopReason.MAX_EPOCHS else f" or SOLVER.EARLY_STOP.PATIENCE (now {cfg.SOLVER.EARLY_STOP.PATIENCE})"
        advice.append(f"mAP was still rising at the last evaluation (epoch {last_epoch}): raise SOLVER.MAX_EPOCH (now {cfg.SOLVER.MAX_EPOCH}){patience}.")
    else:
        advice.append(f"mAP peaked at epoch {best['epoch']} ({best['mAP']:.4f}); use best_model.pth, not model_final.pth.")
    if cfg.SOLVER.SCHED == "MultiStepLR":
        first_drop = min(cfg.SOLVER.STEPS, default=None)
        if first_drop is None or first_drop > last_epoch:
            advice.append(
                f"The learning rate never decayed before the stop (first step at epoch {first_drop}): "
                "move SOLVER.STEPS earlier or try SOLVER.SCHED CosineAnnealingLR."
            )
    return advice


def _chance_level_advice(cfg: Config, info: dict, history: list[dict], warmup_to_blame: bool = False) -> list[str]:
    chance = _chance_level(cfg, info.get("num_classes"))
    weighted = history[-1].get("loss_ce") if history else None
    weight = cfg.MODEL.LOSSES.CE.SCALE
    if chance is None or weighted is None or not math.isfinite(weighted) or weight <= 0 or len(history) < MIN_EPOCHS_FOR_CHANCE:
        return []
    ce = weighted / weight
    if ce < CHANCE_MARGIN * chance.value:
        return []
    if warmup_to_blame:
        return [f"Cross-entropy {ce:.3f} is at chance level ({chance.describe()}): with the LR still warming up, the classifier barely moved; fix the warm-up first."]
    return [
        f"Cross-entropy {ce:.3f} is at chance level ({chance.describe()}): the classifier learned nothing. "
        "Check that the weights change (update_ratio_* in training_history.json), the learning rate, and the labels."
    ]
