"""Workers: claim unfinished tasks one at a time and run them, on any number of machines.

A claim is a lease written in the task row. On PostgreSQL the claim query takes the row
with ``FOR UPDATE SKIP LOCKED``, so concurrent workers each get a different task without
waiting on each other; on SQLite the write lock serialises claims.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy import or_, select

from liveai.errors import Conflict
from liveai.generation.lifecycle import Lifecycle, default_runner_id
from liveai.models import Task, TaskState

log = logging.getLogger(__name__)

ACTIVE = (TaskState.QUEUED, TaskState.SUBMITTED, TaskState.RUNNING)


def claim_next(lifecycle: Lifecycle, *, skip: Collection[uuid.UUID] = ()) -> uuid.UUID | None:
    """Lease the oldest unfinished task nobody holds; None when there is none."""
    now = lifecycle.clock.now()
    with lifecycle.database.transaction() as session:
        query = (
            select(Task)
            .where(
                Task.state.in_(ACTIVE),
                Task.deleted_at.is_(None),
                or_(Task.lease_until.is_(None), Task.lease_until <= now),
                Task.id.not_in(list(skip)),
            )
            .order_by(Task.created_at, Task.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        task = session.scalar(query)
        if task is None:
            return None
        task.lease_owner = lifecycle.runner_id
        task.lease_until = now + timedelta(seconds=lifecycle.settings.generation_lease_s)
        return task.id


@dataclass
class WorkReport:
    """What a worker run did: task ids by final state."""

    finished: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    tried: set[uuid.UUID] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, state: str, task_id: uuid.UUID) -> None:
        with self.lock:
            self.finished.setdefault(state, []).append(str(task_id))

    def count(self, state: str) -> int:
        return len(self.finished.get(state, []))

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.finished.values())


def work(
    lifecycle: Lifecycle,
    *,
    concurrency: int = 1,
    once: bool = False,
    stop: threading.Event | None = None,
    idle_s: float = 2.0,
    on_task: Callable[[uuid.UUID, str], None] | None = None,
) -> WorkReport:
    """Run tasks with ``concurrency`` threads until none is left (``once``) or ``stop`` is set.

    Each thread is its own runner (its own lease owner id). A task that raises is left
    for a later run; its lease expires and another worker retries it.
    """
    stop = stop or threading.Event()
    report = WorkReport()

    def loop() -> None:
        runner = replace(lifecycle, runner_id=default_runner_id())
        while not stop.is_set():
            # One try per task per run: a task that raised waits for the next run.
            task_id = claim_next(runner, skip=report.tried)
            if task_id is None:
                if once:
                    return
                stop.wait(idle_s)
                continue
            _run_one(runner, task_id, report, on_task)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        raise
    return report


def _run_one(
    runner: Lifecycle,
    task_id: uuid.UUID,
    report: WorkReport,
    on_task: Callable[[uuid.UUID, str], None] | None,
) -> None:
    with report.lock:
        report.tried.add(task_id)
    try:
        task = runner.run(task_id)
    except Conflict:
        return
    except Exception as exc:
        log.exception("task %s failed to run; it stays queued for a retry", task_id)
        with report.lock:
            report.errors.append(f"{task_id}: {exc}")
        return
    report.add(task.state.value, task_id)
    if on_task is not None:
        on_task(task_id, task.state.value)
