"""Turn Ctrl-C and termination signals into a clean stop at the next iteration."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

# SIGBREAK is Ctrl-Break on Windows; SIGTERM exists on every platform Python supports.
_SIGNALS = [s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None), getattr(signal, "SIGBREAK", None)) if s is not None]


class StopFlag:
    """Set by a signal; the training loop checks it between iterations."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __bool__(self) -> bool:
        return self.signal_name is not None


@contextmanager
def stop_on_signals(escalate: bool = True) -> Iterator[StopFlag]:
    """While active, the first signal sets the flag; with escalate, a second Ctrl-C raises KeyboardInterrupt at once."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be installed from the main thread
        return

    def handle(signum, _frame):
        if flag and escalate and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag.signal_name = signal.Signals(signum).name

    previous = {s: signal.signal(s, handle) for s in _SIGNALS}
    try:
        yield flag
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
