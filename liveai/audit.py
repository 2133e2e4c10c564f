"""The append-only, hash-chained audit log.

Each event's hash covers its content and the previous event's hash, so altering or
removing an event breaks the chain at that point. Events name users by id only and never
hold personal data, so erasing a user never needs to rewrite the chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, bindparam, func, insert, select, text
from sqlalchemy.orm import Session

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.models import AuditEvent

GENESIS_HASH = "0" * 64
PERSONAL_KEYS = frozenset(
    {"email", "name", "display_name", "subject", "sub", "token", "ip", "user_agent", "phone"}
)
_ADVISORY_LOCK_KEY = 0x6C697665  # "live": serialises appends on PostgreSQL


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    return _hash(event.at, event.actor, event.action, event.user_id, event.details, prev_hash)


def _hash(
    at: datetime,
    actor: str,
    action: str,
    user_id: uuid.UUID | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    head, tail = _canonical(at, actor, action, user_id, details)
    return hashlib.sha256(f"{head}{prev_hash}{tail}".encode()).hexdigest()


def _canonical(
    at: datetime, actor: str, action: str, user_id: uuid.UUID | None, details: dict[str, Any]
) -> tuple[str, str]:
    """The canonical JSON an event's hash covers, {"action", "actor", "at", "details",
    "prev_hash", "user_id"} with sorted keys and no spaces, split where the previous hash
    (plain hex) goes, so the database can hash it without handing the previous hash back."""
    content = {"action": action, "actor": actor, "at": at.isoformat(), "details": details}
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    user = json.dumps(str(user_id) if user_id else None)
    return f'{body[:-1]},"prev_hash":"', f'","user_id":{user}}}'


def _check_no_personal_data(details: Mapping[str, Any]) -> None:
    leaked = PERSONAL_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"audit details must not hold personal data: {sorted(leaked)}")


# Built once: appends are frequent (every generation step writes one).
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_LAST_HASH = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_APPEND = insert(AuditEvent)
_COLUMNS = ("at", "actor", "action", "user_id", "details")
_PREV = select(
    func.coalesce(_LAST_HASH.scalar_subquery(), bindparam("genesis")).label("hash")
).subquery("prev")
# PostgreSQL chains the event itself: no round trip under the lock to read the last hash.
_APPEND_PG = insert(AuditEvent).from_select(
    [*_COLUMNS, "prev_hash", "hash"],
    select(
        *(bindparam(name, type_=AuditEvent.__table__.c[name].type) for name in _COLUMNS),
        _PREV.c.hash,
        func.encode(
            func.sha256(
                func.convert_to(
                    bindparam("head", type_=String()) + _PREV.c.hash + bindparam("tail"), "UTF8"
                )
            ),
            "hex",
        ),
    ),
)


@dataclass(frozen=True)
class Event:
    """One event to append: what happened, to whom, with which details, done by whom, and
    when (by default, when it is appended)."""

    action: str
    user_id: uuid.UUID | None = None
    details: Mapping[str, Any] | None = None
    actor: str = "system"
    at: datetime | None = None


def record(
    session: Session,
    action: str,
    *,
    user_id: uuid.UUID | None = None,
    details: Mapping[str, Any] | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Append one event in the caller's transaction (see `record_many`)."""
    record_many(session, [Event(action, user_id, details, actor)], clock=clock)


def record_many(session: Session, events: Sequence[Event], *, clock: Clock = SYSTEM_CLOCK) -> None:
    """Append events, in order, in the caller's transaction.

    On PostgreSQL the chain is locked until the transaction ends, so the caller's pending
    changes are written before the lock is taken, and the events go in one round trip
    (SQLite's write lock serialises anyway).
    """
    rows = [_values(event, clock) for event in events]
    if not rows:
        return
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"key": _ADVISORY_LOCK_KEY})
        params = []
        for values in rows:
            head, tail = _canonical(**values)
            params.append({**values, "head": head, "tail": tail, "genesis": GENESIS_HASH})
        # Several rows go as one pipelined executemany; one row as a plain execute.
        connection.execute(_APPEND_PG, params if len(params) > 1 else params[0])
        return
    prev_hash = connection.execute(_LAST_HASH).scalar() or GENESIS_HASH
    chained = []
    for values in rows:
        digest = _hash(**values, prev_hash=prev_hash)
        chained.append({**values, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    connection.execute(_APPEND, chained if len(chained) > 1 else chained[0])


def _values(event: Event, clock: Clock) -> dict[str, Any]:
    payload = dict(event.details or {})
    _check_no_personal_data(payload)
    return {
        "at": (event.at or clock.now()).astimezone(UTC),
        "actor": event.actor,
        "action": event.action,
        "user_id": event.user_id,
        "details": json.loads(json.dumps(payload, default=str)),
    }


def list_events(
    session: Session, *, user_id: uuid.UUID | None = None, limit: int | None = None
) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    if limit is not None:
        query = query.order_by(None).order_by(AuditEvent.id.desc()).limit(limit)
        return list(reversed(session.scalars(query).all()))
    return session.scalars(query).all()


@dataclass(frozen=True)
class EventFilter:
    """Which events `newest_events` returns. `action` is an exact action, or a prefix
    ending in "." or "*" (`request.` and `request.*` both mean every request event)."""

    user_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None


def newest_events(session: Session, wanted: EventFilter) -> Sequence[AuditEvent]:
    """Events newest first, like `git log`; `since` is inclusive, `until` exclusive."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if wanted.user_id is not None:
        query = query.where(AuditEvent.user_id == wanted.user_id)
    if wanted.action:
        prefix = wanted.action.rstrip("*")
        if prefix.endswith("."):
            query = query.where(AuditEvent.action.startswith(prefix, autoescape=True))
        else:
            query = query.where(AuditEvent.action == wanted.action)
    if wanted.since is not None:
        query = query.where(AuditEvent.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEvent.at < wanted.until)
    return session.scalars(query.limit(wanted.limit)).all()


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain from the start; name the first event whose content or link is wrong."""
    prev_hash = GENESIS_HASH
    checked = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        if event.prev_hash != prev_hash:
            return ChainReport(checked, event.id, "its link to the previous event is broken")
        if event_hash(event, prev_hash) != event.hash:
            return ChainReport(checked, event.id, "its content does not match its hash")
        prev_hash = event.hash
        checked += 1
    return ChainReport(checked, None, None)


def event_to_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "user_id": str(event.user_id) if event.user_id else None,
        "details": event.details,
        "hash": event.hash,
    }
