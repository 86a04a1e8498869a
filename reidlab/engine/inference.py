"""Evaluate a model on its test sets: extract query and gallery features, then the evaluation layer's metrics."""

from __future__ import annotations

import torch
from torch import nn

from reidlab.config import Config
from reidlab.data.prefetch import prefetched_for
from reidlab.engine.amp import AmpSettings
from reidlab.evaluation import EvaluationResult, alpha_query_expansion, evaluate_features, extract_features


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


def ranking_features(cfg: Config, features: torch.Tensor, num_query: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(query, gallery) features as the evaluation ranks them: split, then alpha query expansion when TEST.AQE is on."""
    query, gallery = features[:num_query], features[num_query:]
    aqe = cfg.TEST.AQE
    return alpha_query_expansion(query, gallery, aqe.QE_TIME, aqe.QE_K, aqe.ALPHA) if aqe.ENABLED else (query, gallery)


def metrics_from_features(cfg: Config, features: torch.Tensor, test_set) -> EvaluationResult:
    """Market-1501-protocol metrics from one test set's features (query rows first, then gallery)."""
    q = test_set.num_query
    rerank, aqe = cfg.TEST.RERANK, cfg.TEST.AQE
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
        aqe=(aqe.QE_TIME, aqe.QE_K, aqe.ALPHA) if aqe.ENABLED else None,
    )


def evaluate_test_sets(cfg: Config, model: nn.Module, test_sets: list, loaders: list, device: torch.device, amp: AmpSettings, processes) -> tuple[dict, EvaluationResult | None, torch.Tensor | None]:
    """Every test set's metrics (the first unprefixed, the others as `<name>/<metric>`), the first one's full result and features.

    Under torchrun each process embeds its share of the images; rank 0 computes the metrics and shares them.
    """
    metrics: dict = {}
    primary = primary_features = None
    for index, (test_set, loader) in enumerate(zip(test_sets, loaders)):
        features = processes.gather_rows(model_features(model, loader, device, amp, cfg.TEST.FLIP.ENABLED))
        result = processes.on_main(lambda: metrics_from_features(cfg, check_finite(features, test_set.name), test_set))
        if index == 0:
            primary, primary_features = result, features
            metrics.update(result.summary())
        else:
            metrics.update({f"{test_set.name}/{k}": v for k, v in result.summary().items()})
    return metrics, primary, primary_features
