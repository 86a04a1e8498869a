"""The background prefetcher: the loader's batches, in order, errors raised where they are consumed, no thread left behind."""

from __future__ import annotations

import threading

import pytest
import torch

from reidlab.data.batches import TrainBatch
from reidlab.data.prefetch import prefetched, prefetched_for


def batches(n: int) -> list[TrainBatch]:
    return [TrainBatch(torch.full((2, 3, 4, 2), i, dtype=torch.uint8), torch.tensor([i, i]), torch.tensor([0, 1])) for i in range(n)]


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "reidlab-prefetch"]


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_the_same_batches_in_the_same_order(depth):
    expected = batches(7)
    got = list(prefetched(iter(expected), depth=depth))
    assert [int(b.targets[0]) for b in got] == list(range(7))
    assert all(g is e for g, e in zip(got, expected))  # unpinned batches are handed over untouched
    assert not prefetch_threads()


def test_a_loader_error_is_raised_in_the_consumer_after_the_batches_before_it():
    def failing():
        yield from batches(2)
        raise OSError("image 17 unreadable")

    seen = []
    with pytest.raises(OSError, match="image 17 unreadable"):
        for batch in prefetched(failing(), depth=2):
            seen.append(int(batch.targets[0]))
    assert seen == [0, 1]
    assert not prefetch_threads()


def test_closing_early_ends_the_thread_and_stops_reading_the_loader():
    consumed = []

    def counting():
        for batch in batches(100):
            consumed.append(int(batch.targets[0]))
            yield batch

    stream = prefetched(counting(), depth=2)
    assert int(next(stream).targets[0]) == 0
    stream.close()
    assert not prefetch_threads()
    assert len(consumed) <= 1 + 2 + 1  # the one consumed, a full queue, and one in hand when told to stop


def test_on_the_cpu_no_thread_and_no_pinning():
    expected = batches(3)
    stream = prefetched_for(iter(expected), torch.device("cpu"))
    assert next(stream) is expected[0] and not prefetch_threads()
    assert [b is e for b, e in zip(stream, expected[1:])] == [True, True]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: pinned memory")
def test_on_a_gpu_batches_come_pinned_and_equal():
    expected = batches(5)
    got = list(prefetched_for(iter(expected), torch.device("cuda")))
    assert all(t.is_pinned() for b in got for t in b)
    assert all(torch.equal(g.images, e.images) and torch.equal(g.targets, e.targets) for g, e in zip(got, expected))


def test_the_thread_pins_on_the_consumers_gpu_not_gpu_0(monkeypatch):
    """Like torch's pin-memory thread: pinning from a new thread would otherwise open a CUDA context on GPU 0."""
    calls = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: calls.append((index, threading.current_thread().name)))
    monkeypatch.setattr("reidlab.data.prefetch.pinned", lambda batch: batch)
    expected = batches(3)
    assert list(prefetched(iter(expected), depth=2, pin_for=torch.device("cuda", 3))) == expected
    assert calls == [(3, "reidlab-prefetch")]
