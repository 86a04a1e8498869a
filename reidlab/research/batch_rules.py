"""Rules of thumb for batches and learning rates that both the detectors and the remedies apply.

Reference learning rates: bag of tricks trains Adam at 3.5e-4 with 64 images per batch; for
other batch sizes Adam follows the square-root scaling rule (Malladi et al. 2022) and SGD the
linear one (Goyal et al. 2017), from 0.01 at 64 images.
"""

from __future__ import annotations

import math

REFERENCE_BATCH = 64
REFERENCE_LR = {"Adam": 3.5e-4, "AdamW": 3.5e-4, "SGD": 1e-2}
MIN_INSTANCES = 2  # K: below 2 an identity has no positive pair in the batch
MIN_IDENTITIES = 4  # P: below 4 the batch-hard negative comes from too few people
IDENTITY_SAMPLERS = ("NaiveIdentitySampler", "BalancedIdentitySampler")


def batches_per_epoch(num_images: int, batch: int) -> int:
    """Iterations an epoch by the identity sampler's rule: whole batches of the training images."""
    return max(num_images // batch, 1)


def reference_lr(optimizer: str, batch: int) -> float:
    """The learning rate a well-tuned ReID baseline would use for this optimiser and batch size."""
    base = REFERENCE_LR.get(optimizer, REFERENCE_LR["Adam"])
    ratio = batch / REFERENCE_BATCH
    return base * (ratio if optimizer == "SGD" else math.sqrt(ratio))


def uses_identity_sampler(sampler: str) -> bool:
    return sampler in IDENTITY_SAMPLERS


def pk_layout(batch: int, instances: int) -> tuple[int, int] | None:
    """(P identities, K instances) of a batch, or None when K does not divide it."""
    if instances < 1 or batch % instances:
        return None
    return batch // instances, instances


def valid_instances(batch: int, preferred: int, num_ids: int | None = None) -> int | None:
    """A NUM_INSTANCE for this batch: `preferred` when it gives K >= 2 and P >= 4, else the nearest K that does.

    None when no K fits (the batch is under 8 images, or the data set has too few identities).
    """
    candidates = [k for k in range(MIN_INSTANCES, batch + 1) if batch % k == 0 and batch // k >= MIN_IDENTITIES]
    if num_ids is not None:
        candidates = [k for k in candidates if batch // k <= num_ids]
    if not candidates:
        return None
    return min(candidates, key=lambda k: (abs(k - preferred), -k))
