"""Stopping the erased user's unfinished generations before their data is removed.

Restricting the account already asked every unfinished task to cancel. A task nobody holds
is cancelled here (and at its provider, where it can be); a task a runner holds is left to
it: the runner sees the cancel within a poll or two, or sees the closed account right
before it would store the result, and settles the task. The erasure waits for that, at
most about one lease, then takes over (fences) tasks whose lease has run out: their runner
can no longer write, and removes anything it stored once its final write is refused.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from liveai.clock import Clock
from liveai.db import Database
from liveai.errors import Conflict
from liveai.models import Task, TaskState

log = logging.getLogger(__name__)

ACTIVE = (TaskState.QUEUED, TaskState.SUBMITTED, TaskState.RUNNING)
CancelUpstream = Callable[[str, str], bool]


def ask_to_cancel(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    """Flag every unfinished task of the user for cancellation (in the caller's transaction)."""
    session.execute(
        update(Task)
        .where(Task.user_id == user_id, Task.state.in_(ACTIVE))
        .values(cancel_requested=True, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def stop_tasks(
    database: Database,
    user_id: uuid.UUID,
    *,
    clock: Clock,
    wait_s: float,
    cancel_upstream: CancelUpstream | None,
    sleep: Callable[[float], object] = time.sleep,
    poll_s: float = 0.5,
) -> int:
    """Cancel the user's free tasks and wait for held ones to settle; how many were
    cancelled here. Conflict when a runner still holds one after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    cancelled = 0
    while True:
        with database.transaction() as session:
            fenced, held = _fence_free(session, user_id, clock.now())
        for provider, provider_task_id in fenced:
            if provider and provider_task_id:
                _cancel_upstream(cancel_upstream, provider, provider_task_id)
        cancelled += len(fenced)
        if not held:
            return cancelled
        if time.monotonic() >= deadline:
            task_id, owner = held[0]
            raise Conflict(
                f"task {task_id} of the erased user is still being run by {owner}",
                hint="stop that worker or wait for its lease to run out, then erase again",
            )
        sleep(poll_s)


def _fence_free(
    session: Session, user_id: uuid.UUID, now: datetime
) -> tuple[list[tuple[str | None, str | None]], list[tuple[uuid.UUID, str | None]]]:
    """Cancel the unfinished tasks no live lease protects, in one guarded UPDATE each;
    (provider, provider task id) of those cancelled, (task id, owner) of those held."""
    unfinished = session.execute(
        select(Task.id, Task.provider, Task.provider_task_id, Task.lease_owner).where(
            Task.user_id == user_id, Task.state.in_(ACTIVE)
        )
    ).all()
    fenced, held = [], []
    for task_id, provider, provider_task_id, owner in unfinished:
        result = session.execute(
            update(Task)
            .where(
                Task.id == task_id,
                Task.state.in_(ACTIVE),
                or_(Task.lease_until.is_(None), Task.lease_until <= now),
            )
            .values(
                state=TaskState.CANCELLED,
                error_code="account_erased",
                error="the account was erased",
                cancel_requested=True,
                lease_owner=None,
                lease_until=None,
                finished_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            fenced.append((provider, provider_task_id))
        else:
            held.append((task_id, owner))
    return fenced, held


def _cancel_upstream(cancel: CancelUpstream | None, provider: str, provider_task_id: str) -> None:
    if cancel is None:
        return
    try:
        cancel(provider, provider_task_id)
    except Exception as exc:  # best effort: the provider's copy expires on its own
        log.info("cancelling %s at %s failed: %s", provider_task_id, provider, exc)
