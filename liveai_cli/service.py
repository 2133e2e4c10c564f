"""A long-running command's signals: the first SIGTERM or SIGINT drains, a second stops.

Draining means no new claims, what runs finishes (or is handed back after the grace);
stopping means everything in flight is handed back now (`liveai.stopping`). Leases are
released either way; the holds stay, for whoever runs the tasks next.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger("liveai.worker")


@contextmanager
def drain_on_signals(stop: threading.Event) -> Iterator[list[str]]:
    """Handle SIGTERM and SIGINT while inside; the names of the signals received."""
    from liveai import stopping

    received: list[str] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if received:
            log.warning("%s again: stopping now, handing the tasks in flight back", name)
            stopping.request_stop()
        else:
            log.warning("%s: draining (no new tasks; send it again to stop at once)", name)
            stop.set()
        received.append(name)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stopping.clear()


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM acts as Ctrl-C does, and either also stops work on other threads (waits
    and renders raise `Stopped`, tasks are handed back): a one-shot command stops
    promptly and says what it left."""
    from liveai import stopping

    def handle(signum: int, frame: FrameType | None) -> None:
        stopping.request_stop()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stopping.clear()
