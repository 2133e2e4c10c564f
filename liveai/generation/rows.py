"""The statements a task run repeats, built once with bound parameters.

A worker drives hundreds of tasks at once, and building, caching and compiling a
statement costs more than running it; these are built at import (writes: once per set of
columns) and run on the caller's connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from liveai.db import Database
from liveai.models import DataTransfer, Task, TaskState, Upload, User, UserStatus

ACTIVE = (TaskState.QUEUED, TaskState.SUBMITTED, TaskState.RUNNING)

TASKS = cast(Table, Task.__table__)
UPLOADS = cast(Table, Upload.__table__)
TRANSFERS = cast(Table, DataTransfer.__table__)
_ID = TASKS.c.id == bindparam("task_id")
_OURS = _ID & (TASKS.c.lease_owner == bindparam("runner"))

_PHOTO_COLUMNS = (UPLOADS.c.storage_key, UPLOADS.c.width, UPLOADS.c.height)
_OF_PHOTO = [
    select(column)
    .where(UPLOADS.c.id == TASKS.c.upload_id)
    .scalar_subquery()
    .label(f"p_{column.name}")
    for column in _PHOTO_COLUMNS
]


# Task attribute names by column, to build the claimed task from its row.
_TASK_ATTRIBUTES = [(inspect(Task).get_property_by_column(c).key, c.name) for c in TASKS.c]


def _claiming(which: ColumnElement[bool]) -> Any:
    """Lease the task ``which`` selects; the row comes back with its photo's key and size."""
    return (
        update(TASKS)
        .where(which)
        .values(lease_owner=bindparam("runner"), lease_until=bindparam("until"))
        .returning(*TASKS.c, *_OF_PHOTO)
    )


_FREE = (
    TASKS.c.state.in_(ACTIVE),
    TASKS.c.deleted_at.is_(None),
    or_(TASKS.c.lease_until.is_(None), TASKS.c.lease_until <= bindparam("now")),
)
_CLAIM = _claiming(
    _ID
    & TASKS.c.deleted_at.is_(None)
    & TASKS.c.state.in_(ACTIVE)
    & or_(
        TASKS.c.lease_until.is_(None),
        TASKS.c.lease_until <= bindparam("now"),
        TASKS.c.lease_owner == bindparam("runner"),
    )
)


def _oldest_free(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    oldest = (
        select(TASKS.c.id)
        .where(*_FREE, *conditions)
        .order_by(TASKS.c.created_at, TASKS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return TASKS.c.id == oldest


# Skipping tasks is rare (they raised in this run): the usual claim has no list to expand.
_CLAIM_NEXT = _claiming(_oldest_free())
_CLAIM_NEXT_SKIPPING = _claiming(_oldest_free(TASKS.c.id.not_in(bindparam("skip", expanding=True))))
_PHOTO = select(*_PHOTO_COLUMNS).where(UPLOADS.c.id == bindparam("upload_id"))
_STATUS = select(TASKS.c.cancel_requested, TASKS.c.lease_owner).where(_ID)
_USERS = cast(Table, User.__table__)
_MAY_STORE = (
    select(TASKS.c.cancel_requested, TASKS.c.lease_owner, _USERS.c.status)
    .select_from(TASKS.outerjoin(_USERS, _USERS.c.id == TASKS.c.user_id))
    .where(_ID)
)
_NEW_TRANSFER = {
    "postgresql": postgresql.insert(TRANSFERS).on_conflict_do_nothing().returning(TRANSFERS.c.id),
    "sqlite": sqlite.insert(TRANSFERS).on_conflict_do_nothing().returning(TRANSFERS.c.id),
}
_OWED = (
    select(Task)
    .where(TASKS.c.notify_pending, TASKS.c.finished_at <= bindparam("before"))
    .order_by(TASKS.c.finished_at)
)
_TOLD = update(TASKS).where(_ID, TASKS.c.notify_pending).values(notify_pending=False)
_DATE_UPLOAD = (
    update(UPLOADS)
    .where(UPLOADS.c.id == bindparam("upload_id"), UPLOADS.c.delete_after.is_(None))
    .values(delete_after=bindparam("delete_after"))
)


Claimed = tuple[Task, tuple[str, int, int]]


def claim(
    session: Session, task_id: uuid.UUID, runner: str, now: datetime, until: datetime
) -> Claimed | None:
    """Lease an unfinished task that is free (or already ours), with its photo's key, width
    and height; None when it is not free."""
    params = {"task_id": task_id, "runner": runner, "now": now, "until": until}
    return _claimed(session.connection().execute(_CLAIM, params).one_or_none())


def claim_next(
    connection: Connection,
    runner: str,
    now: datetime,
    until: datetime,
    skip: Collection[uuid.UUID],
) -> Claimed | None:
    """Lease the oldest unfinished task nobody holds (none that others are claiming right
    now: SKIP LOCKED on PostgreSQL), with its photo; None when there is none."""
    params: dict[str, Any] = {"runner": runner, "now": now, "until": until}
    if skip:
        params["skip"] = list(skip)
    found = connection.execute(_CLAIM_NEXT_SKIPPING if skip else _CLAIM_NEXT, params)
    return _claimed(found.one_or_none())


def _claimed(row: Any) -> Claimed | None:
    """The task as a loaded and detached record (as a closed session leaves it), without
    the ORM's row loading, and its photo."""
    if row is None:
        return None
    values = row._mapping
    task = Task(**{key: values[name] for key, name in _TASK_ATTRIBUTES})
    make_transient_to_detached(task)
    return task, tuple(values[column.name] for column in _OF_PHOTO)


def photo(session: Session, upload_id: uuid.UUID) -> tuple[str, int, int]:
    """The stored photo's key, width and height."""
    key, width, height = session.connection().execute(_PHOTO, {"upload_id": upload_id}).one()
    return key, width, height


def status(database: Database, task_id: uuid.UUID) -> tuple[bool, str | None]:
    """Whether a cancel was asked for, and who holds the lease: one read, outside any
    transaction on PostgreSQL (no BEGIN and ROLLBACK around it)."""
    with database.statements() as connection:
        cancel, owner = connection.execute(_STATUS, {"task_id": task_id}).one()
    return bool(cancel), owner


def may_store(database: Database, task_id: uuid.UUID) -> tuple[bool, str | None, bool]:
    """Right before a result is stored: whether a cancel was asked for, who holds the
    lease, and whether the account is still active (not being erased)."""
    with database.statements() as connection:
        row = connection.execute(_MAY_STORE, {"task_id": task_id}).one_or_none()
    if row is None:
        return True, None, False
    cancel, owner, status = row
    return bool(cancel), owner, status == UserStatus.ACTIVE.value


def owed(session: Session, before: datetime) -> list[Task]:
    """Tasks that finished before ``before`` and whose listeners were never told."""
    return list(session.scalars(_OWED, {"before": before}))


def told(database: Database, task_id: uuid.UUID) -> None:
    """Note that the task's listeners have been told it finished."""
    with database.statements() as connection:
        connection.execute(_TOLD, {"task_id": task_id})


def write(
    session: Session, task_id: uuid.UUID, runner: str, values: Mapping[str, Any]
) -> bool | None:
    """Set ``values`` on the task only while ``runner`` holds its lease; whether a cancel has
    been asked for, None when the lease is not ours."""
    statement, params = update_of(task_id, runner, values)
    cancel: bool | None = session.connection().execute(statement, params).scalar()
    return cancel


def update_of(
    task_id: uuid.UUID, runner: str, values: Mapping[str, Any], *, read_back: bool = True
) -> tuple[Any, dict[str, Any]]:
    """The UPDATE that sets ``values`` on the task while ``runner`` holds its lease (it
    changes one row, or none), reading the cancel flag back or not, and its parameters."""
    params = {f"v_{name}": value for name, value in values.items()}
    params.update(task_id=task_id, runner=runner)
    return _update(tuple(sorted(values)), read_back), params


@cache
def _update(columns: tuple[str, ...], read_back: bool) -> Any:
    values: dict[str, Any] = {name: bindparam(f"v_{name}") for name in columns}
    statement = update(TASKS).where(_OURS).values(values)
    return statement.returning(TASKS.c.cancel_requested) if read_back else statement


def date_upload(upload_id: uuid.UUID, delete_after: datetime) -> tuple[Any, dict[str, Any]]:
    """The UPDATE that starts the photo's retention clock, once (the first finished task
    sets it), and its parameters."""
    return _DATE_UPLOAD, {"upload_id": upload_id, "delete_after": delete_after}


def add_transfer(session: Session, values: Mapping[str, Any]) -> bool:
    """Insert a data transfer record; False when the task has one for that recipient."""
    connection = session.connection()
    return connection.execute(_NEW_TRANSFER[connection.dialect.name], values).first() is not None


def mirror(task: Task, values: Mapping[str, Any], cancel: bool) -> None:
    """Keep our copy of the task as the row now stands, once the write has committed."""
    for name, value in {**values, "cancel_requested": cancel}.items():
        set_committed_value(task, name, value)
