"""Detectors that read the loss curves: CE at chance level, triplet stuck at its margin, divergence."""

from __future__ import annotations

import math
from statistics import mean

from reidlab.research.batch_rules import reference_lr
from reidlab.research.diagnose.chance_level import chance_evidence, is_chance_ce, is_learning_accuracy, run_chance_level, smoothed_ce_floor
from reidlab.research.diagnose.detectors.weights_standstill import flat_curve_standstill
from reidlab.research.diagnose.findings import Finding, Severity
from reidlab.research.diagnose.remedies import Remedy, round_lr
from reidlab.research.runs import SOURCE_FASTREID, RunEvidence

RECENT_EPOCHS = 3  # "the last epochs": the mean over this many
MARGIN_BAND = 0.15  # triplet loss within 15 % of its stuck value (the margin, or ln 2 for the soft margin)
COLLAPSED_GAP = 0.25  # |d_an - d_ap| under a quarter of that value: anchors cannot tell people apart
SPIKE_FACTOR = 1.5  # an epoch's loss 1.5x both the previous epoch's and the lowest so far
BLOWUP_FACTOR = 10.0  # the loss ends 10x above its lowest: divergence even if it stayed finite
FAR_ABOVE_REFERENCE = 3.0  # a lowered LR never stays above 3x the usual one for the optimiser and batch


def ce_at_chance(run: RunEvidence) -> Finding | None:
    """CE (without its weight) still near chance, the CE of a classifier that cannot tell the ids apart: it is learning nothing.

    Chance is ln(#ids) for a Linear classifier; for a cosine CLS_LAYER it is the margin-adjusted
    CE at cosine 0 (about 48 + ln(#ids) for SBS's CircleSoftmax, SCALE 64, MARGIN 0.35).
    """
    scale = float(run.setting("MODEL.LOSSES.CE.SCALE") or 0.0)
    ce_values = run.recent_values("loss_ce", RECENT_EPOCHS)
    chance = run_chance_level(run)
    if not ce_values or chance is None or scale <= 0:
        return None
    classes = chance.num_classes
    ce = mean(ce_values) / scale
    if not is_chance_ce(ce, chance):
        return None
    accuracy = run.recent_values("cls_accuracy", RECENT_EPOCHS)
    if accuracy and is_learning_accuracy(mean(accuracy), classes):
        return None
    evidence = {
        "mean_ce_last_epochs" if run.history else "mean_ce_last_iterations": round(ce, 4),
        "epochs_averaged" if run.history else "logged_iterations_averaged": len(ce_values),
        **chance_evidence(chance),
        "training_ids": classes,
        "ce_floor_with_label_smoothing": round(smoothed_ce_floor(classes, chance.epsilon), 4),
        "first_logged_ce": _round(run.curve("loss_ce")[0][1] / scale),
    }
    if accuracy:
        evidence.update(mean_batch_accuracy=round(mean(accuracy), 4), chance_accuracy=round(1 / classes, 4))
    checks, remedies = _chance_checks(run, evidence)
    smoothing = (
        "Label smoothing does not explain it: the chance value above already includes CE.EPSILON."
        if chance.is_cosine
        else "Label smoothing does not explain it: with smoothing, chance is still ln(#ids)."
    )
    return Finding(
        "ce_at_chance",
        Severity.CRITICAL,
        f"Cross-entropy is at chance level: {ce:.3f} against {chance.describe()}",
        evidence,
        cause="The classifier predicts no better than guessing among the identities, so it is learning nothing. " + " ".join(checks),
        fix="Check, in this order: the label relabelling (pids mapped to 0..#ids-1, the same for every image of a person), "
        f"the learning rate, frozen layers ({_frozen_layers_check(run)}), and warmup against iterations per epoch. " + smoothing,
        remedies=remedies,
    )


def _frozen_layers_check(run: RunEvidence) -> str:
    """Where this run's user can see whether the weights move: fast-reid writes no update ratios."""
    if run.source == SOURCE_FASTREID:
        return (
            "fast-reid records no weight updates: compare the weights in two of its checkpoints model_XXXX.pth, "
            "or run `reidlab doctor --config-file <your config.yaml>`"
        )
    return "update_ratio_* in training_history.json"


def _chance_checks(run: RunEvidence, evidence: dict) -> tuple[list[str], list[Remedy]]:
    """What the settings say about the usual causes, as sentences with numbers, and the remedies that follow."""
    checks: list[str] = []
    remedies: list[Remedy] = []
    lr = float(run.setting("SOLVER.BASE_LR"))
    optimizer = str(run.setting("SOLVER.OPT"))
    batch = int(run.setting("SOLVER.IMS_PER_BATCH"))
    reference = reference_lr(optimizer, batch)
    evidence.update(base_lr=lr, reference_lr=round_lr(reference))
    if lr < reference / 10:
        checks.append(f"SOLVER.BASE_LR {lr:g} is under a tenth of the usual {reference:.3g} for {optimizer} at batch {batch}.")
        remedies.append(
            Remedy(
                "fix_learning_rate",
                {"SOLVER.BASE_LR": round_lr(reference)},
                tests=f"Is the learning rate too low to learn anything? BASE_LR {reference:.3g}, the usual value for {optimizer} at batch {batch}.",
                why=f"CE stayed at chance with BASE_LR {lr:g}.",
                origin="ce_at_chance",
            )
        )
    warmup = int(run.setting("SOLVER.WARMUP_ITERS") or 0)
    ipe, iterations = run.iters_per_epoch, run.iterations_run
    if ipe:
        evidence.update(warmup_iters=warmup, iters_per_epoch=ipe, warmup_epochs=round(warmup / ipe, 2))
    if warmup and iterations is not None and warmup >= iterations:
        checks.append(f"Warmup ({warmup} iterations) had not ended after {iterations} iterations: the LR never reached BASE_LR.")
        target = max(2 * ipe, 1) if ipe else max(warmup // 10, 1)
        remedies.append(
            Remedy(
                "fix_warmup",
                {"SOLVER.WARMUP_ITERS": target},
                tests=f"Did warmup hold the LR down? WARMUP_ITERS {target} (about two epochs) instead of {warmup}.",
                why=f"The run stopped after {iterations} iterations, inside its {warmup}-iteration warmup.",
                origin="ce_at_chance",
            )
        )
    ratios = [max(r.get("update_ratio_backbone") or 0.0, r.get("update_ratio_head") or 0.0) for r in run.history[-RECENT_EPOCHS:] if "update_ratio_head" in r]
    if ratios:
        evidence["max_update_ratio_last_epochs"] = float(f"{max(ratios):.3g}")
        if max(ratios) < 1e-4:
            checks.append(f"The weights barely move (largest update ratio per epoch {max(ratios):.2g}): LR too small or layers frozen.")
    flat = None if ratios else flat_curve_standstill(run)
    if flat is not None:
        checks.append(
            f"CE never fell from where it started ({flat.evidence['ce_first_logged']:g} -> {flat.evidence['ce_last_logged']:g} over iterations "
            f"{flat.evidence['iterations_logged']}): the weights appear not to move at all (see the weights finding)."
        )
    configured = int(run.setting("MODEL.HEADS.NUM_CLASSES") or 0)
    if configured and run.num_classes and configured != run.num_classes:
        checks.append(f"MODEL.HEADS.NUM_CLASSES is {configured} but the data set has {run.num_classes} identities.")
    if not checks:
        checked = "the learning rate, warmup and weight updates" if ratios else "the learning rate and warmup (weight updates were not recorded)"
        checks.append(f"By the numbers, {checked} look normal, which points at the labels: check the relabelling and that images and labels stay paired.")
    return checks, remedies


def triplet_stuck_value(margin: float) -> float:
    """The triplet loss when every anchor's positive is as far as its negative: the margin, or ln 2 for the soft margin (MARGIN 0)."""
    return margin if margin > 0 else math.log(2.0)  # soft margin: softplus(d_ap - d_an) = softplus(0) = ln 2


def triplet_at_margin(run: RunEvidence) -> Finding | None:
    """Triplet loss stuck where d_ap = d_an puts it (its margin; ln 2 with the soft margin): the embeddings collapsed."""
    if "TripletLoss" not in (run.setting("MODEL.LOSSES.NAME") or []):
        return None
    scale = float(run.setting("MODEL.LOSSES.TRI.SCALE") or 0.0)
    margin = float(run.setting("MODEL.LOSSES.TRI.MARGIN") or 0.0)
    values = run.recent_values("loss_triplet", RECENT_EPOCHS)
    if not values or scale <= 0 or margin < 0:
        return None
    stuck = triplet_stuck_value(margin)
    triplet = mean(values) / scale
    if abs(triplet - stuck) > MARGIN_BAND * stuck:
        return None
    evidence = {"mean_triplet_last_epochs": round(triplet, 4), "margin": margin, "stuck_value": round(stuck, 4), "epochs_averaged": len(values)}
    dist_ap, dist_an = run.last_values("dist_ap", RECENT_EPOCHS), run.last_values("dist_an", RECENT_EPOCHS)
    if dist_ap and dist_an:
        gap = mean(dist_an) - mean(dist_ap)
        evidence.update(mean_dist_ap=_round(mean(dist_ap)), mean_dist_an=_round(mean(dist_an)), dist_gap=_round(gap))
        if abs(gap) > COLLAPSED_GAP * stuck:
            return None
    active = run.last_values("triplet_active_fraction", RECENT_EPOCHS)
    if active:
        evidence["active_triplet_fraction"] = round(mean(active), 3)
    lr = float(run.setting("SOLVER.BASE_LR"))
    evidence["base_lr"] = lr
    if margin > 0:
        title = f"Triplet loss is stuck at its margin: {triplet:.3f} against MARGIN {margin:g}"
        where = "so the loss sits at exactly the margin"
    else:
        title = f"Triplet loss is stuck at ln 2: {triplet:.3f} against {stuck:.3f}, the soft margin's softplus(d_ap - d_an) at d_ap = d_an (MARGIN 0)"
        where = "so the soft-margin loss softplus(d_ap - d_an) sits at softplus(0) = ln 2"
    return Finding(
        "triplet_at_margin",
        Severity.CRITICAL,
        title,
        evidence,
        cause=f"Positive and negative distances are equal, {where}: the embeddings have collapsed "
        "(every image maps to about the same point or direction) and retrieval cannot separate people. "
        "Usual causes: a learning rate too high for the triplet term (dead ReLUs, a shrunken feature), or no gradient at all.",
        fix=f"Lower SOLVER.BASE_LR (now {lr:g}) and keep warmup; keep cross-entropy beside the triplet (it anchors the features); "
        "check that the features fed to the triplet are not zero (MODEL.HEADS.NECK_FEAT).",
        remedies=[_lower_lr_remedy(run, "triplet_at_margin", "fix_triplet_collapse", "the embeddings collapsed (triplet loss stuck where d_ap = d_an puts it)")],
    )


def divergence(run: RunEvidence) -> Finding | None:
    """The loss went to NaN/inf, blew up, or spiked: the learning rate is too high."""
    losses = [(r["epoch"], r.get("loss")) for r in run.history]
    finite = [(e, v) for e, v in losses if v is not None]
    not_finite_epochs = [e for e, v in losses if v is None and "loss" in _record(run, e)]
    message = run.stop_message or ""
    stopped_not_finite = run.stop_reason == "diverged"  # the engine stops NaN losses and NaN embeddings so
    evidence: dict = {"base_lr": float(run.setting("SOLVER.BASE_LR")), "optimizer": run.setting("SOLVER.OPT")}
    if stopped_not_finite or not_finite_epochs:
        evidence.update(stop_reason=run.stop_reason, stop_message=message[:200])
        if not_finite_epochs:
            evidence["first_non_finite_epoch"] = not_finite_epochs[0]
        if finite:
            evidence.update(lowest_loss=_round(min(v for _, v in finite)), last_finite_loss=_round(finite[-1][1]))
        return _divergence_finding(run, Severity.CRITICAL, "Training diverged: the loss (or the features) stopped being finite", evidence)
    if len(finite) < 2:
        return None
    lowest = min(v for _, v in finite)
    last_epoch, last = finite[-1]
    if lowest > 0 and last >= BLOWUP_FACTOR * lowest:
        evidence.update(lowest_loss=_round(lowest), last_loss=_round(last), growth=float(f"{last / lowest:.3g}"), last_epoch=last_epoch)
        return _divergence_finding(run, Severity.CRITICAL, f"Training diverged: the loss grew {last / lowest:.3g}x from its lowest", evidence)
    spikes = _spikes(finite)
    if spikes:
        epoch, value, before = spikes[0]
        evidence.update(spike_epochs=[s[0] for s in spikes], first_spike_loss=_round(value), loss_before_spike=_round(before))
        return _divergence_finding(run, Severity.WARNING, f"Loss spikes: the loss jumped {value / before:.2g}x at epoch {epoch}", evidence)
    return None


def _spikes(finite: list[tuple[int, float]]) -> list[tuple[int, float, float]]:
    """(epoch, loss, previous loss) where the loss jumped above both the previous epoch and the lowest so far."""
    spikes = []
    lowest = finite[0][1]
    for (_, previous), (epoch, value) in zip(finite, finite[1:]):
        if value > SPIKE_FACTOR * previous and value > SPIKE_FACTOR * lowest:
            spikes.append((epoch, value, previous))
        lowest = min(lowest, value)
    return spikes


def _divergence_finding(run: RunEvidence, severity: Severity, title: str, evidence: dict) -> Finding:
    lr = float(run.setting("SOLVER.BASE_LR"))
    warmup = int(run.setting("SOLVER.WARMUP_ITERS") or 0)
    amp = " With AMP on, also try SOLVER.AMP.ENABLED False to rule out fp16 overflow." if run.setting("SOLVER.AMP.ENABLED") else ""
    return Finding(
        "divergence",
        severity,
        title,
        evidence,
        cause=f"The learning rate is too high for this model and batch: the steps overshoot and the weights run away (BASE_LR {lr:g}, warmup {warmup} iterations).",
        fix=f"Lower SOLVER.BASE_LR at least 10x (remedy fix_divergence) and warm up for at least an epoch.{amp}",
        remedies=[_lower_lr_remedy(run, "divergence", "fix_divergence", "the loss diverged")],
    )


def _lower_lr_remedy(run: RunEvidence, origin: str, name: str, reason: str) -> Remedy:
    lr = float(run.setting("SOLVER.BASE_LR"))
    usual = reference_lr(str(run.setting("SOLVER.OPT")), int(run.setting("SOLVER.IMS_PER_BATCH")))
    lower = round_lr(min(lr / 10, FAR_ABOVE_REFERENCE * usual))
    changes: dict = {"SOLVER.BASE_LR": lower}
    ipe = run.iters_per_epoch
    warmup = int(run.setting("SOLVER.WARMUP_ITERS") or 0)
    if ipe and warmup < ipe:
        changes["SOLVER.WARMUP_ITERS"] = ipe
    return Remedy(
        name,
        changes,
        tests=f"Is the learning rate too high? BASE_LR {lower:g} ({'a tenth' if lower == round_lr(lr / 10) else 'near the usual value for this optimiser and batch'})"
        f"{', with a one-epoch warmup' if len(changes) > 1 else ''}.",
        why=f"With BASE_LR {lr:g} {reason}.",
        origin=origin,
    )


def _record(run: RunEvidence, epoch: int) -> dict:
    return next((r for r in run.history if r["epoch"] == epoch), {})


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.5g}")
