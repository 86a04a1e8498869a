"""Evaluate a model on a test set: extract query and gallery features, then the evaluation layer's metrics."""

from __future__ import annotations

import torch
from torch import nn

from reidlab.config import Config
from reidlab.data.prefetch import prefetched_for
from reidlab.engine.amp import AmpSettings
from reidlab.evaluation import EvaluationResult, evaluate_features, extract_features


@torch.inference_mode()
def model_features(model: nn.Module, loader, device: torch.device, amp: AmpSettings, flip: bool) -> torch.Tensor:
    """Embeddings (float32, CPU) of every image of the loader, in loader order."""
    was_training = model.training
    model.eval()

    def forward(images: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, dtype=amp.dtype, enabled=amp.enabled):
            return model(images)

    batches = (batch.images.to(device, non_blocking=True) for batch in prefetched_for(loader, device))
    try:
        return extract_features(forward, batches, flip=flip)
    finally:
        model.train(was_training)


class NonFiniteFeatures(ArithmeticError):
    """The model's embeddings hold NaN or inf: the weights or BN statistics have diverged."""


def check_finite(features: torch.Tensor, name: str) -> torch.Tensor:
    """The features, or NonFiniteFeatures when any embedding holds NaN or inf."""
    bad = int((~torch.isfinite(features)).any(dim=1).sum())
    if bad:
        raise NonFiniteFeatures(f"{bad} of {len(features)} {name} embeddings are NaN or inf")
    return features


def metrics_from_features(cfg: Config, features: torch.Tensor, test_set) -> EvaluationResult:
    """Market-1501-protocol metrics from one test set's features (query rows first, then gallery)."""
    q = test_set.num_query
    rerank = cfg.TEST.RERANK
    return evaluate_features(
        features[:q],
        features[q:],
        test_set.pids[:q],
        test_set.pids[q:],
        test_set.camids[:q],
        test_set.camids[q:],
        metric=cfg.TEST.METRIC,
        rerank=rerank.ENABLED,
        k1=rerank.K1,
        k2=rerank.K2,
        lambda_value=rerank.LAMBDA,
    )

