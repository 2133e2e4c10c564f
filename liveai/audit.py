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
from datetime import UTC
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.models import AuditEvent

GENESIS_HASH = "0" * 64
PERSONAL_KEYS = frozenset(
    {"email", "name", "display_name", "subject", "sub", "token", "ip", "user_agent", "phone"}
)
_ADVISORY_LOCK_KEY = 0x6C697665  # "live": serialises appends on PostgreSQL


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    content = {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "user_id": str(event.user_id) if event.user_id else None,
        "details": event.details,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_no_personal_data(details: Mapping[str, Any]) -> None:
    leaked = PERSONAL_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"audit details must not hold personal data: {sorted(leaked)}")


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})


def record(
    session: Session,
    action: str,
    *,
    user_id: uuid.UUID | None = None,
    details: Mapping[str, Any] | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> AuditEvent:
    """Append one event in the caller's transaction."""
    payload = dict(details or {})
    _check_no_personal_data(payload)
    _lock_chain(session)
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    prev_hash = last or GENESIS_HASH
    event = AuditEvent(
        at=clock.now().astimezone(UTC),
        actor=actor,
        action=action,
        user_id=user_id,
        details=json.loads(json.dumps(payload, default=str)),
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = event_hash(event, prev_hash)
    session.add(event)
    session.flush()
    return event


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
