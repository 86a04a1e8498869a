"""Random streams derived from (seed, epoch, batch, ...) instead of global state.

Every random choice of the data pipeline comes from one of these, so a batch depends only on
the run's seed and its position, not on worker count, cache mode, or what ran before: a run
resumed at an epoch boundary draws exactly the batches it would have drawn.
"""

from __future__ import annotations

import numpy as np
import torch

SAMPLER_STREAM = 1
AUGMENT_STREAM = 2


def derived_seed(*keys: int) -> int:
    """A well-mixed 63-bit seed from a tuple of non-negative integers."""
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def sampler_rng(seed: int, epoch: int) -> np.random.Generator:
    """The numpy generator a sampler uses for one epoch."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), SAMPLER_STREAM]))


def augment_generator(seed: int, epoch: int, batch_index: int, rank: int = 0) -> torch.Generator:
    """The torch generator for the augmentation of one batch on one rank."""
    generator = torch.Generator()
    generator.manual_seed(derived_seed(seed, epoch, batch_index, rank, AUGMENT_STREAM))
    return generator
