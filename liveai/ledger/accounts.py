"""Balance rows: a user's credits account and the shards of the system accounts.

Every change is one guarded or plain UPDATE on a balance row, in the caller's transaction.
Lock order, to keep concurrent transactions free of deadlocks: a hold's row first, then
user accounts (by id), then system account shards (by id). Each function keeps it; a
caller that puts transfers of several users in one transaction can break it (PostgreSQL
then aborts one of two deadlocked transactions), so keep to one user per transaction.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, select, update
from sqlalchemy.orm import Session

from liveai.errors import NotFound
from liveai.models import LedgerAccount, User

# Concurrent transfers of different users land on different shards of a system account.
SYSTEM_SHARDS = 16

ACCOUNTS: Table = LedgerAccount.__table__  # type: ignore[assignment]


class SystemAccount(enum.StrEnum):
    APPSTORE = "system:appstore"
    PROMO = "system:promo"
    CONSUMED = "system:consumed"
    CLAWBACK = "system:clawback"
    CORRECTIONS = "system:corrections"


def user_code(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def shard_of(user_id: uuid.UUID) -> int:
    return user_id.int % SYSTEM_SHARDS


def available_expr() -> ColumnElement[int]:
    c = ACCOUNTS.c
    return c.credits_posted - c.debits_posted - c.debits_pending


def insert_ignoring_conflict(session: Session, table: Any, values: Mapping[str, Any]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, on PostgreSQL and SQLite (a statement to run)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(**values).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).values(**values).on_conflict_do_nothing()


def _new_account(code: str, shard: int, user_id: uuid.UUID | None, now: datetime) -> dict[str, Any]:
    return {
        "code": code,
        "shard": shard,
        "user_id": user_id,
        "guarded": user_id is not None,
        "debits_pending": 0,
        "debits_posted": 0,
        "credits_pending": 0,
        "credits_posted": 0,
        "created_at": now,
    }


def user_account_id(session: Session, user_id: uuid.UUID) -> int | None:
    found = session.scalar(select(ACCOUNTS.c.id).where(ACCOUNTS.c.user_id == user_id))
    return None if found is None else int(found)


def _check_user(session: Session, user_id: uuid.UUID) -> None:
    if session.scalar(select(User.id).where(User.id == user_id)) is None:
        raise NotFound(f"no user {user_id}", hint="see `liveai users list` for ids")


def ensure_user_account(session: Session, user_id: uuid.UUID, now: datetime) -> int:
    """The user's account id, created on first use; NotFound for an unknown user."""
    found = user_account_id(session, user_id)
    if found is not None:
        return found
    _check_user(session, user_id)
    row = _new_account(user_code(user_id), 0, user_id, now)
    session.execute(insert_ignoring_conflict(session, ACCOUNTS, row))
    created = user_account_id(session, user_id)
    assert created is not None
    return created


def change_user(
    session: Session,
    user_id: uuid.UUID,
    deltas: Mapping[str, int],
    now: datetime,
    *,
    need: int = 0,
) -> int | None:
    """Apply deltas to the user's balance row; None when fewer than `need` are available.

    The guard sits in the UPDATE's WHERE clause, so the row lock serialises writers and
    no read-then-write race can overdraw the account.
    """
    stmt = _apply(deltas).where(ACCOUNTS.c.user_id == user_id)
    if need > 0:
        stmt = stmt.where(available_expr() >= need)
    account_id = session.scalar(stmt.returning(ACCOUNTS.c.id))
    if account_id is not None:
        return int(account_id)
    if user_account_id(session, user_id) is not None:
        return None  # the account exists: the guard refused
    if need > 0:  # a new account has nothing to take: refuse without creating it
        _check_user(session, user_id)
        return None
    ensure_user_account(session, user_id, now)
    return change_user(session, user_id, deltas, now, need=need)


def change_system(
    session: Session,
    account: SystemAccount,
    shard: int,
    deltas: Mapping[str, int],
    now: datetime,
) -> int:
    """Apply deltas to one shard of a system account, creating the shard on first use."""
    where = (ACCOUNTS.c.code == account.value, ACCOUNTS.c.shard == shard)
    account_id = session.scalar(_apply(deltas).where(*where).returning(ACCOUNTS.c.id))
    if account_id is not None:
        return int(account_id)
    row = _new_account(account.value, shard, None, now)
    session.execute(insert_ignoring_conflict(session, ACCOUNTS, row))
    account_id = session.scalar(_apply(deltas).where(*where).returning(ACCOUNTS.c.id))
    assert account_id is not None
    return int(account_id)


def change_by_id(session: Session, account_id: int, deltas: Mapping[str, int]) -> None:
    session.execute(_apply(deltas).where(ACCOUNTS.c.id == account_id))


def _apply(deltas: Mapping[str, int]) -> Any:
    values = {name: ACCOUNTS.c[name] + delta for name, delta in deltas.items() if delta}
    if not values:  # a no-op that still takes the row lock and returns the id
        values = {"debits_posted": ACCOUNTS.c.debits_posted}
    return update(ACCOUNTS).values(values)


def invert(deltas: Mapping[str, int]) -> dict[str, int]:
    return {name: -delta for name, delta in deltas.items()}
