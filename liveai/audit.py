"""The append-only audit log, chained by keyed hashes and anchored from outside.

Each event's hash is an HMAC-SHA256, under a key held outside the database (settings),
of its action, actor and time, the previous event's hash, and a digest of whom it is about
and what it says (``digest`` = SHA-256 of a random salt, the user id and the details).
Altering or removing an event breaks the chain at that point, and without the key no one
can recompute the hashes after it; cutting events off the end is caught by comparing with
an anchor (`anchor`: the count and the newest hash) kept somewhere append-only.

Events name users by id only and never hold personal data. When a user is erased their
events are redacted (`redact`): the user id, the details and the salt go, the digest stays,
so the chain still verifies and the events no longer say whom they were about.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import ConfigError, InvalidInput
from liveai.models import AuditEvent
from liveai.settings import load_settings

GENESIS_HASH = "0" * 64
PERSONAL_KEYS = frozenset(
    {"email", "name", "display_name", "subject", "sub", "token", "ip", "user_agent", "phone"}
)
_ADVISORY_LOCK_KEY = 0x6C697665  # "live": serialises appends on PostgreSQL
MIN_KEY_LENGTH = 32
KEY_FILE = "audit.key"


# --- the key ------------------------------------------------------------------------


def key_from_settings(settings: Any) -> bytes:
    """LIVEAI_AUDIT_KEY, else the key file in LIVEAI_HOME (made once, 0600)."""
    if settings.audit_key is not None:
        value = settings.audit_key.get_secret_value()
        if len(value) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"LIVEAI_AUDIT_KEY is shorter than {MIN_KEY_LENGTH} characters",
                hint="use a long random value, e.g. `openssl rand -hex 32`",
            )
        return bytes(value.encode())
    return _key_file(Path(settings.home) / KEY_FILE)


def _key_file(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        return _make_key_file(path)
    except ValueError:
        key = b""
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"the audit key file {path} does not hold a hex key of 32 bytes or more",
            hint="restore it from your backup, or set LIVEAI_AUDIT_KEY",
        )
    return key


def _make_key_file(path: Path) -> bytes:
    """Write a new key whole, then link it into place: a process racing us reads either
    no file or the whole key, and the first link wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")  # 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        os.unlink(tmp)
    return _key_file(path)


_KEYS: dict[tuple[str | None, ...], bytes] = {}
_KEYS_LOCK = threading.Lock()


def chain_key() -> bytes:
    """The key of this process's settings (read once per environment)."""
    marker = tuple(os.environ.get(n) for n in ("LIVEAI_AUDIT_KEY", "LIVEAI_HOME", "LIVEAI_CONFIG"))
    key = _KEYS.get(marker)
    if key is None:
        with _KEYS_LOCK:
            key = _KEYS.get(marker) or key_from_settings(load_settings())
            _KEYS[marker] = key
    return key


# --- hashing ------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_digest(salt: str, user_id: uuid.UUID | None, details: dict[str, Any]) -> str:
    """What the hash covers of whom and what: redaction keeps this and drops the rest."""
    user = str(user_id) if user_id else None
    body = _json({"details": details, "salt": salt, "user_id": user})
    return hashlib.sha256(body.encode()).hexdigest()


def chain_hash(
    key: bytes, at: datetime, actor: str, action: str, digest: str, prev_hash: str
) -> str:
    body = {
        "action": action,
        "actor": actor,
        "at": at.isoformat(),
        "digest": digest,
        "prev_hash": prev_hash,
    }
    return hmac.new(key, _json(body).encode(), hashlib.sha256).hexdigest()


def legacy_hash(event: Any, prev_hash: str) -> str:
    """The unkeyed SHA-256 chain used before 0020 (the migration checks it, then reseals);
    ``event`` is an AuditEvent or a row with its columns."""
    user = str(event.user_id) if event.user_id else None
    content = {
        "action": event.action,
        "actor": event.actor,
        "at": event.at.isoformat(),
        "details": event.details,
        "prev_hash": prev_hash,
        "user_id": user,
    }
    return hashlib.sha256(_json(content).encode()).hexdigest()


def _personal_keys(value: Any, path: str = "") -> list[str]:
    """Every key, at any depth, that names personal data (as a dotted path)."""
    found = []
    if isinstance(value, Mapping):
        for name, inner in value.items():
            here = f"{path}.{name}" if path else str(name)
            if str(name).lower() in PERSONAL_KEYS:
                found.append(here)
            found.extend(_personal_keys(inner, here))
    elif isinstance(value, list | tuple):
        for n, inner in enumerate(value):
            found.extend(_personal_keys(inner, f"{path}[{n}]"))
    return found


def _check_no_personal_data(details: Mapping[str, Any]) -> None:
    leaked = _personal_keys(details)
    if leaked:
        raise ValueError(f"audit details must not hold personal data: {sorted(leaked)}")


_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_LAST_HASH = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_APPEND = insert(AuditEvent)


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
    changes are written before the lock is taken (SQLite's write lock serialises anyway);
    the events go in one round trip.
    """
    rows = [_values(event, clock) for event in events]
    if not rows:
        return
    key = chain_key()
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"key": _ADVISORY_LOCK_KEY})
    prev_hash = connection.execute(_LAST_HASH).scalar() or GENESIS_HASH
    chained = []
    for values in rows:
        digest = content_digest(values["salt"], values["user_id"], values["details"])
        at, actor, action = values["at"], values["actor"], values["action"]
        hashed = chain_hash(key, at, actor, action, digest, prev_hash)
        chained.append({**values, "digest": digest, "prev_hash": prev_hash, "hash": hashed})
        prev_hash = hashed
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
        "salt": secrets.token_hex(16),
    }


def redact(session: Session, ids: Iterable[int]) -> int:
    """Drop whom and what these events were about (user id, details, salt); their digests
    keep the chain verifiable. How many were redacted."""
    wanted = list(ids)
    done = 0
    for start in range(0, len(wanted), 1000):
        batch = wanted[start : start + 1000]
        result = session.execute(
            update(AuditEvent)
            .where(AuditEvent.id.in_(batch), AuditEvent.salt.is_not(None))
            .values(user_id=None, details={}, salt=None)
            .execution_options(synchronize_session=False)
        )
        done += getattr(result, "rowcount", 0)
    return done


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
class Anchor:
    """The chain's head as seen from outside: how many events, and the newest one's hash."""

    count: int
    hash: str

    def __str__(self) -> str:
        return f"{self.count}:{self.hash}"

    @classmethod
    def parse(cls, value: str) -> Anchor:
        count, _, digest = value.strip().partition(":")
        if not (count.isdigit() and len(digest) == 64 and _is_hex(digest)):
            raise InvalidInput(
                f"{value.strip()[:80]!r} is not an audit anchor",
                hint="an anchor is COUNT:HASH, as `liveai audit anchor` prints it",
            )
        return cls(int(count), digest.lower())


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in value)


def anchor(session: Session) -> Anchor:
    count = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    head = session.scalar(_LAST_HASH) or GENESIS_HASH
    return Anchor(count, head)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    reason: str | None
    redacted: int = 0

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None and self.reason is None


def verify_chain(session: Session, anchors: Sequence[Anchor] = ()) -> ChainReport:
    """Walk the chain from the start; name the first event whose content or link is wrong,
    or the first anchor the chain no longer reaches (events edited or cut off the end)."""
    key = chain_key()
    wanted = {a.count: a.hash for a in anchors}
    prev_hash = GENESIS_HASH
    checked = redacted = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        problem = _problem(event, key, prev_hash)
        if problem is not None:
            return ChainReport(checked, event.id, problem, redacted)
        prev_hash = event.hash
        checked += 1
        redacted += event.salt is None
        if wanted.get(checked, event.hash) != event.hash:
            return ChainReport(checked, event.id, "it differs from the anchor's hash", redacted)
    beyond = sorted(count for count in wanted if count > checked)
    if beyond:
        reason = f"the anchor {beyond[0]}:{wanted[beyond[0]][:12]}… is past the last event"
        return ChainReport(checked, None, f"{reason}: events were removed", redacted)
    return ChainReport(checked, None, None, redacted)


def _problem(event: AuditEvent, key: bytes, prev_hash: str) -> str | None:
    if event.prev_hash != prev_hash:
        return "its link to the previous event is broken"
    if event.digest is None:
        return "it has no digest"
    if event.salt is None:
        if event.user_id is not None or event.details:
            return "it is marked redacted but still names someone or something"
    elif content_digest(event.salt, event.user_id, event.details) != event.digest:
        return "its content does not match its hash"
    expected = chain_hash(key, event.at, event.actor, event.action, event.digest, prev_hash)
    if not hmac.compare_digest(expected, event.hash):
        return "its content does not match its hash"
    return None


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
