"""Batches made ready ahead of time in a background thread, pinned for an asynchronous copy to a GPU.

On a GPU the main thread's time goes to launching kernels; augmenting the next batch there
leaves the GPU waiting. A thread prepares up to `depth` batches ahead (torch's ops release the
GIL) and moves them to page-locked memory, so `.to("cuda", non_blocking=True)` returns at once.
The batches and their order are exactly the loader's: each batch's randomness comes from
(seed, epoch, batch index), never from timing.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, NamedTuple, TypeVar

import torch

Batch = TypeVar("Batch", bound=tuple)


class _Raised(NamedTuple):
    error: BaseException


_END = object()


def pinned(batch: Batch) -> Batch:
    """The batch (a NamedTuple of tensors) with every tensor in page-locked memory."""
    return type(batch)(*(t.pin_memory() if isinstance(t, torch.Tensor) else t for t in batch))


def prefetched(batches: Iterable[Batch], depth: int = 2, pin_for: torch.device | None = None) -> Iterator[Batch]:
    """The same batches, produced up to `depth` ahead by a background thread, pinned for GPU `pin_for` if given.

    An error in the loader is raised here, in the consumer's thread. Closing the generator
    early (break, an exception, a stop signal) ends the thread first. depth 0 uses no thread.
    """
    pin = pin_for is not None
    if depth == 0:
        yield from (pinned(batch) if pin else batch for batch in batches)
        return
    gpu = (pin_for.index if pin_for.index is not None else torch.cuda.current_device()) if pin else None
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        """Put item in the queue unless the consumer has gone; a timeout keeps checking for that."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            if pin:  # as torch's own pin-memory thread: a new thread starts on GPU 0, and pinning there would open a context on it
                torch.cuda.set_device(gpu)
            for batch in batches:
                if not hand_over(pinned(batch) if pin else batch):
                    return
        except BaseException as error:  # handed to the consumer, which raises it
            hand_over(_Raised(error))
            return
        hand_over(_END)

    thread = threading.Thread(target=produce, name="reidlab-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def prefetched_for(batches: Iterable[Batch], device: torch.device) -> Iterator[Batch]:
    """Prefetched and pinned for a GPU; in the consumer's thread on the CPU, whose model threads already use every core."""
    on_gpu = device.type == "cuda"
    return prefetched(batches, depth=2 if on_gpu else 0, pin_for=device if on_gpu else None)
