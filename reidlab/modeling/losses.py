"""ReID losses: label-smoothed cross-entropy (after the classifier layer's margin) and triplet
(batch-hard or softmax-weighted, hard or soft margin), plus cheap health stats.

Everything is computed in float32 with autocast switched off, so bf16/fp16 training
gets the same loss values as float32 training (up to the features themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch
import torch.nn.functional as F

from reidlab.config import Config
from reidlab.modeling.cls_layers import margin_logits

STAT_NAMES = ("cls_accuracy", "triplet_active_fraction", "dist_ap", "dist_an")


def cross_entropy_loss(logits: torch.Tensor, targets: torch.Tensor, epsilon: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy against smoothed targets, fast-reid's form: 1-eps on the true class, eps/(C-1) on each other.

    (torch's label_smoothing=s puts 1-s+s/C on the true class; s = eps*C/(C-1) gives the same targets.)
    """
    log_probs = F.log_softmax(logits.float(), dim=1)
    true_class = log_probs.gather(1, targets.long().view(-1, 1)).squeeze(1)
    num_classes = logits.shape[1]
    if epsilon == 0.0 or num_classes < 2:
        return -true_class.mean()
    other_classes = log_probs.sum(dim=1) - true_class
    per_sample = -(1.0 - epsilon) * true_class - (epsilon / (num_classes - 1)) * other_classes
    return per_sample.mean()


def pairwise_euclidean_distance(features: torch.Tensor) -> torch.Tensor:
    """(N, D) -> (N, N) euclidean distances; squared distances clamped before the sqrt (finite gradients), diagonal 0."""
    x = features.float()
    squared_norms = x.pow(2).sum(dim=1)
    squared = squared_norms.view(-1, 1) + squared_norms.view(1, -1) - 2.0 * (x @ x.t())
    distance = squared.clamp(min=1e-12).sqrt()
    eye = torch.eye(len(x), dtype=torch.bool, device=x.device)
    return distance.masked_fill(eye, 0.0)


@dataclass
class TripletResult:
    """The triplet loss and what went into it, per anchor (for health stats).

    `valid` marks anchors that have at least one negative in the batch; the others add nothing.
    `active` marks anchors whose ranking is violated, d_ap - d_an + margin > 0 (with a soft
    margin every anchor has a non-zero loss, so the hinge cannot tell).
    """

    loss: torch.Tensor
    dist_ap: torch.Tensor
    dist_an: torch.Tensor
    hinge: torch.Tensor
    valid: torch.Tensor
    active: torch.Tensor


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # A finite fill (not -inf) keeps rows with no entry NaN-free in forward and backward.
    return scores.masked_fill(~mask, torch.finfo(scores.dtype).min).softmax(dim=1) * mask


def mine_triplets(
    distance: torch.Tensor, targets: torch.Tensor, hard_mining: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per anchor: (positive distance, negative distance, has-a-negative mask).

    As in fast-reid, an anchor counts as its own positive (distance 0), so an anchor
    without another positive still pushes its negatives beyond the margin.
    hard_mining: hardest positive (max) and hardest negative (min).
    Otherwise: softmax-weighted means, weights exp(d) over positives and exp(-d) over negatives.
    """
    same = targets.view(-1, 1) == targets.view(1, -1)
    different = ~same
    valid = different.any(dim=1)
    if hard_mining:
        dist_ap = distance.masked_fill(different, torch.finfo(distance.dtype).min).amax(dim=1)
        dist_an = distance.masked_fill(same, torch.finfo(distance.dtype).max).amin(dim=1)
    else:
        dist_ap = (distance * _masked_softmax(distance, same)).sum(dim=1)
        dist_an = (distance * _masked_softmax(-distance, different)).sum(dim=1)
    dist_an = torch.where(valid, dist_an, torch.zeros_like(dist_an))
    return dist_ap, dist_an, valid


def triplet_loss_terms(
    features: torch.Tensor, targets: torch.Tensor, margin: float, hard_mining: bool = True, norm_feat: bool = False
) -> TripletResult:
    """Triplet loss, mean over anchors of relu(d_ap - d_an + margin), with its per-anchor parts.

    margin 0 is fast-reid's soft margin: softplus(d_ap - d_an) = log(1 + exp(d_ap - d_an)),
    computed stably (fast-reid falls back to margin 0.3 when its form overflows; this one cannot).
    """
    x = features.float()
    if norm_feat:  # fast-reid's NORM_FEAT: cosine distance 1 - cos, so MARGIN keeps its meaning across tools
        normed = F.normalize(x, dim=1)
        distance = 1.0 - normed @ normed.t()
    else:
        distance = pairwise_euclidean_distance(x)
    dist_ap, dist_an, valid = mine_triplets(distance, targets, hard_mining)
    gap = dist_ap - dist_an + margin
    per_anchor = F.softplus(gap) if margin == 0 else F.relu(gap)
    hinge = torch.where(valid, per_anchor, torch.zeros_like(dist_ap))
    loss = hinge.sum() / valid.sum().clamp(min=1)
    return TripletResult(loss=loss, dist_ap=dist_ap, dist_an=dist_an, hinge=hinge, valid=valid, active=valid & (gap > 0))


def triplet_loss(
    features: torch.Tensor, targets: torch.Tensor, margin: float, hard_mining: bool = True, norm_feat: bool = False
) -> torch.Tensor:
    """The triplet loss as a scalar (see triplet_loss_terms)."""
    return triplet_loss_terms(features, targets, margin, hard_mining, norm_feat).loss


@torch.no_grad()
def _health_stats(logits: torch.Tensor, targets: torch.Tensor, triplet: TripletResult) -> dict[str, torch.Tensor]:
    valid = triplet.valid.float()
    n_valid = valid.sum().clamp(min=1)
    return {
        "cls_accuracy": (logits.argmax(dim=1) == targets).float().mean(),
        "triplet_active_fraction": triplet.active.float().sum() / n_valid,
        "dist_ap": (triplet.dist_ap * valid).sum() / n_valid,
        "dist_an": (triplet.dist_an * valid).sum() / n_valid,
    }


def compute_losses(
    cfg: Config,
    outputs: Mapping[str, torch.Tensor],
    targets: torch.Tensor,
    whole_batch: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The total loss, its weighted terms and health stats for one training batch.

    outputs: the model's training dict (needs `logits` and `features`); cosine `logits` (a cosine
    MODEL.HEADS.CLS_LAYER) get their margin and scale here, where the targets are known.
    terms: `loss_ce` and/or `loss_triplet` as MODEL.LOSSES.NAME asks, each already times its SCALE;
    total is their sum.
    stats (always all of STAT_NAMES): detached 0-dim float32 tensors on the batch's device,
    so reading them is the caller's choice of when to sync. `cls_accuracy` is the batch top-1 of
    the logits before any margin (fast-reid's pred_class_logits);
    the triplet stats (`triplet_active_fraction`: anchors with d_ap - d_an + margin > 0, `dist_ap`,
    `dist_an`: mean mined distances) follow MODEL.LOSSES.TRI even when TripletLoss is not used.
    whole_batch (features, targets) -> the same for the whole batch, when this process holds only
    a share of it (DDP): the triplet then mines over all of it, as fast-reid does.
    """
    lcfg = cfg.MODEL.LOSSES
    targets = targets.long()
    with torch.autocast(device_type=outputs["logits"].device.type, enabled=False):
        logits = outputs["logits"].float()
        features = outputs["features"].float()
        terms: dict[str, torch.Tensor] = {}
        if "CrossEntropyLoss" in lcfg.NAME:
            hcfg = cfg.MODEL.HEADS
            class_logits = margin_logits(hcfg.CLS_LAYER, logits, targets, hcfg.SCALE, hcfg.MARGIN)
            terms["loss_ce"] = cross_entropy_loss(class_logits, targets, lcfg.CE.EPSILON) * lcfg.CE.SCALE
        use_triplet = "TripletLoss" in lcfg.NAME
        with torch.set_grad_enabled(use_triplet and torch.is_grad_enabled()):
            triplet_features, triplet_targets = whole_batch(features, targets) if whole_batch else (features, targets)
            triplet = triplet_loss_terms(
                triplet_features, triplet_targets, lcfg.TRI.MARGIN, lcfg.TRI.HARD_MINING, lcfg.TRI.NORM_FEAT
            )
        if use_triplet:
            terms["loss_triplet"] = triplet.loss * lcfg.TRI.SCALE
        total = torch.stack(list(terms.values())).sum()
        stats = _health_stats(logits.detach(), targets, triplet)
    return total, terms, {k: v.detach() for k, v in stats.items()}
