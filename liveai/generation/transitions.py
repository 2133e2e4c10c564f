"""One log line per task transition, with its duration and provider, for a worker's log;
and the hook metrics hang on.

The lifecycle reports stages by task id (`Progress`); a worker registers the task it
claimed, whose record the lifecycle keeps current, so each line can say which provider
the task is on and how long it has run.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from liveai.logcontext import bound
from liveai.models import Task

log = logging.getLogger("liveai.worker")

# The stages worth a line; `polling` and `downloading` repeat or say little.
LOGGED = frozenset({"claimed", "submitted", "failover", "succeeded", "failed", "cancelled"})
FINAL = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class Transition:
    """A task reached ``stage`` ``elapsed`` seconds after this runner claimed it."""

    task: Task
    stage: str
    elapsed: float


Observer = Callable[[Transition], None]


class Transitions:
    """The Progress a worker's runners report to: logs each transition, tells observers."""

    def __init__(self, observers: Sequence[Observer] = ()) -> None:
        self.observers = list(observers)
        self.running: dict[uuid.UUID, tuple[float, Task]] = {}
        self.lock = threading.Lock()

    def begin(self, task: Task) -> None:
        with self.lock:
            self.running[task.id] = (time.monotonic(), task)

    def end(self, task_id: uuid.UUID) -> None:
        with self.lock:
            self.running.pop(task_id, None)

    def __call__(self, task_id: uuid.UUID, stage: str) -> None:
        if stage in LOGGED:
            self.note(task_id, stage, logged=True)

    def note(self, task_id: uuid.UUID, stage: str, *, logged: bool = False) -> None:
        """Tell the observers (``logged``: and the log) that a running task reached ``stage``;
        the worker notes its own events (retry, lease_lost) and logs them itself."""
        with self.lock:
            found = self.running.get(task_id)
        if found is None:
            return
        started, task = found
        moved = Transition(task, stage, time.monotonic() - started)
        if logged:
            with bound(task_id=task.id, provider=task.provider, user_id=task.user_id):
                on = f" on {task.provider}" if task.provider else ""
                log.info("task %s %s%s after %.1f s", task.id, stage, on, moved.elapsed)
        for observer in self.observers:
            observer(moved)
