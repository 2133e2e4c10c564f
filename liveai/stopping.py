"""Stopping work in flight: a process-wide request that sleeps and renders heed.

A worker asked to stop at once (a second signal, or its grace spent) sets it; a thread
waiting between polls, or rendering a video frame by frame, then raises `Stopped`, and
the lifecycle hands its task back for another runner.
"""

from __future__ import annotations

import threading

from liveai.errors import ExitCode, LiveAIError

_requested = threading.Event()


class Stopped(LiveAIError):
    """Work was stopped on request; the task was handed back."""

    exit_code = ExitCode.INTERRUPTED


def request_stop() -> None:
    _requested.set()


def clear() -> None:
    _requested.clear()


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise `Stopped` when a stop has been asked for."""
    if _requested.is_set():
        raise Stopped("stopped on request")


def sleep(seconds: float) -> None:
    """`time.sleep` that ends early, raising `Stopped`, when a stop is asked for."""
    if _requested.wait(max(0.0, seconds)):
        raise Stopped("stopped on request")
