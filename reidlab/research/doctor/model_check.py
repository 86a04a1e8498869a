"""Doctor checks 2 and 3: the labels fall within the classifier's range, and the model builds.

The label check is made from the config first (MODEL.HEADS.NUM_CLASSES, 0 = number of training
ids), so a classifier that is too small is a FAIL line rather than build_model's exception; once
the model is built, the check is repeated against the classifier it really has.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from reidlab.config import Config
from reidlab.data import TrainData
from reidlab.modeling.chance import ChanceLevel
from reidlab.research.doctor.report import CheckResult, Status, fix_for_error

LABELS, LABELS_TITLE = "labels", "label range"
MODEL, MODEL_TITLE = "model", "model"


def classifier_outputs(model: nn.Module) -> int | None:
    """Number of classifier outputs of a built model (None when the model does not say)."""
    value = getattr(model, "num_classes", None)
    return int(value) if value is not None else None


def check_labels(cfg: Config, train_data: TrainData, outputs: int | None = None) -> CheckResult:
    """Every relabelled training target must index one of the classifier's outputs."""
    configured = cfg.MODEL.HEADS.NUM_CLASSES
    ids = train_data.num_classes
    if outputs is None:
        outputs = configured or ids
    pids = [r.pid for r in train_data.records]
    low, high = min(pids), max(pids)
    numbers = {"min_target": low, "max_target": high, "ids": ids, "num_classes_config": configured, "classifier_outputs": outputs}
    where = f"MODEL.HEADS.NUM_CLASSES {configured}" + (" = number of ids" if configured == 0 else "")
    if low < 0 or high >= outputs:
        return CheckResult(
            LABELS,
            LABELS_TITLE,
            Status.FAIL,
            f"targets {low}..{high} ({ids} ids) but the classifier has {outputs} outputs ({where})",
            numbers,
            cause="a target outside 0..outputs-1 has no logit: cross-entropy fails (an IndexError, or a CUDA device-side assert), "
            "or code that clamps labels trains on the wrong identities",
            fix=f"MODEL.HEADS.NUM_CLASSES 0 (use the {ids} training ids) or at least {high + 1}",
        )
    summary = f"targets {low}..{high} within the classifier's {outputs} outputs ({where})"
    if outputs > ids:
        return CheckResult(
            LABELS,
            LABELS_TITLE,
            Status.WARN,
            summary,
            numbers,
            cause=f"{outputs - ids} outputs belong to no training identity; harmless, but the loss at init is chance over {outputs} classes "
            f"({ChanceLevel.of(cfg, outputs).describe()}), not over {ids}",
            fix="MODEL.HEADS.NUM_CLASSES 0",
        )
    return CheckResult(LABELS, LABELS_TITLE, Status.PASS, summary, numbers)


def check_model(cfg: Config, num_ids: int, device: torch.device, build: Callable[[Config, int, torch.device], nn.Module]) -> tuple[CheckResult, nn.Module | None]:
    """Build the model as `train` does, on the configured device; a failure becomes a FAIL line."""
    backbone = cfg.MODEL.BACKBONE
    numbers: dict = {"depth": backbone.DEPTH, "pretrain": backbone.PRETRAIN}
    try:
        model = build(cfg, num_ids, device)
    except Exception as exc:  # noqa: BLE001 - any build failure is the finding
        return CheckResult(MODEL, MODEL_TITLE, Status.FAIL, f"ResNet{backbone.DEPTH.rstrip('x')} could not be built", numbers, cause=f"{type(exc).__name__}: {exc}", fix=_build_fix(cfg)), None
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    numbers.update(parameters=total, trainable_parameters=trainable)
    pretrained = "ImageNet weights" if backbone.PRETRAIN else "from scratch"
    summary = f"ResNet{backbone.DEPTH.rstrip('x')} ({pretrained}), {total / 1e6:.2f} M parameters, {trainable / 1e6:.2f} M trainable, on {device}"
    return CheckResult(MODEL, MODEL_TITLE, Status.PASS, summary, numbers), model


def _build_fix(cfg: Config) -> str:
    if cfg.MODEL.BACKBONE.PRETRAIN and not cfg.MODEL.BACKBONE.PRETRAIN_PATH:
        return "for ImageNet weights without internet, set MODEL.BACKBONE.PRETRAIN_PATH to a local torchvision file (or MODEL.BACKBONE.PRETRAIN False)"
    return fix_for_error("building the model")
