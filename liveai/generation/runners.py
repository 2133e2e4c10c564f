"""Who holds a lease: a runner id names its host, process id and process start time.

``host:pid:start:thread:nonce`` — the start time (clock ticks since boot, from
``/proc/<pid>/stat``) tells a live process from a later one that reused the pid. A runner
is *provably gone* when it ran on this host and no process with its pid and start time
is running now; then its tasks can be taken over at once instead of after the lease.
Anything else (another host, an id in an older shape, no /proc) is presumed alive.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int
    started: str


def runner_id() -> str:
    """A fresh id for a runner on this thread of this process."""
    nonce = uuid.uuid4().hex[:6]
    started = _start_time(os.getpid()) or "unknown"
    return f"{_host()}:{os.getpid()}:{started}:{threading.get_ident()}:{nonce}"


def parse(owner: str) -> Runner | None:
    """The host, pid and start time an id names; None for an id in another shape."""
    parts = owner.split(":")
    if len(parts) != 5 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return Runner(parts[0], int(parts[1]), parts[2])


def is_gone(owner: str) -> bool:
    """Whether the runner ``owner`` names ran on this host and its process has ended."""
    runner = parse(owner)
    if runner is None or runner.host != _host() or not os.path.exists("/proc/self/stat"):
        return False
    current = _start_time(runner.pid)
    return current is None or current != runner.started


def same_process(owner: str) -> bool:
    """Whether ``owner`` is a runner of this very process."""
    runner = parse(owner)
    return runner is not None and runner == parse(runner_id())


@functools.cache
def _host() -> str:
    return socket.gethostname().replace(":", "_")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot; None when no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return "unknown"
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else "unknown"
