"""Taking over tasks whose runner is provably gone, at once rather than after the lease.

A crashed runner's lease would otherwise keep its task `running` until the lease lapses
(`generation_lease_s`). A runner on this host whose process has ended cannot come back, so
its leases are cleared for any runner to claim; a live runner's task is never taken.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from liveai.clock import Clock
from liveai.db import Database
from liveai.generation.rows import ACTIVE
from liveai.generation.runners import is_gone
from liveai.models import Task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Held:
    """A task leased by a runner that may still be alive, and when its lease ends."""

    task_id: uuid.UUID
    owner: str
    until: datetime


@dataclass
class Takeover:
    """Tasks freed from gone runners, and those live runners hold."""

    taken: list[uuid.UUID] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)


def take_over(database: Database, clock: Clock, *, mine: str | None = None) -> Takeover:
    """Free the leases of runners that are provably gone; list the others' leases (leases
    of runners whose id starts with ``mine``, this process's own, are left out)."""
    now = clock.now()
    with database.transaction() as session:
        leased = session.execute(
            select(Task.id, Task.lease_owner, Task.lease_until).where(
                Task.state.in_(ACTIVE),
                Task.deleted_at.is_(None),
                Task.lease_owner.is_not(None),
                Task.lease_until > now,
            )
        ).all()
    result = Takeover()
    for task_id, owner, until in leased:
        assert owner is not None and until is not None  # the query asked for both
        if mine is not None and owner.startswith(mine):
            continue
        if is_gone(owner) and _free(database, task_id, owner):
            log.info("task %s: its runner %s is gone; taking it over", task_id, owner)
            result.taken.append(task_id)
        elif not is_gone(owner):
            result.held.append(Held(task_id, owner, until))
    return result


def _free(database: Database, task_id: uuid.UUID, owner: str) -> bool:
    """Clear the lease if ``owner`` still holds it; whether it did."""
    statement = (
        update(Task)
        .where(Task.id == task_id, Task.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
        .returning(Task.id)
    )
    with database.transaction() as session:
        return session.execute(statement).first() is not None
