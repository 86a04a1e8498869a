"""Run small torch work single-threaded for a moment.

Data-pipeline tensors (one batch of small images) are too small for OpenMP to pay off, and
when another process keeps a core busy a descheduled thread stalls every parallel region:
62 ms instead of 2.5 ms per batch measured on 2 cores. The setting is restored afterwards and
never held across a `yield`, so the model keeps all its threads.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def one_intra_op_thread() -> Iterator[None]:
    """torch.set_num_threads(1) inside the block, the previous value after it."""
    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
