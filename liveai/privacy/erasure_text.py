"""The erased user's identifiers in text: captured before anything is deleted, rewritten
out of the rows that are kept, and searched for in every text column afterwards.

Kept rows (the books, the request register) may hold free text an operator typed: a
ledger reason, a refusal reason, a verification note. That text is dropped whatever it
says, since no scan can tell a name from a word. Other text in kept rows is written by
the system (keys, references, codes); a value there that contains an identifier (an
operator's key such as ``promo:launch:<subject>``) is replaced by ``erased:`` and a
SHA-256 of the old value, so accounting can still match it against its own records.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Column, Enum, String, Table, Text, cast, func, or_, select, update
from sqlalchemy.orm import Session

from liveai.models import Base, Device, Identity, User

FREE_TEXT = {
    "ledger_transfers": ("reason",),
    "privacy_requests": (
        "verification_note",
        "refusal_reason",
        "extension_reason",
        "completion_note",
    ),
}
"""Operator-typed text in kept tables: dropped (NULL) on erasure."""

SYSTEM_TEXT = {
    "ledger_accounts": ("code",),
    "ledger_transfers": ("key", "reference", "actor"),
    "purchases": (
        "transaction_id",
        "original_transaction_id",
        "product_id",
        "environment",
        "source",
        "transfer_key",
    ),
    "data_transfers": ("provider", "region", "transport"),
    "privacy_requests": ("channel", "region", "due_basis", "calendar_version", "verification"),
    "consents": ("kind", "scope", "action", "policy_version", "source", "actor", "evidence"),
}
"""System-written text in kept tables: a value holding an identifier is replaced by a hash."""

MIN_SEARCHED = 4
"""Shorter identifiers (a two-letter name) would match ordinary words everywhere; rows of the
user that hold free text lose it anyway."""

SKIPPED_COLUMNS = frozenset({("erasure_runs", "identifiers")})
"""The run's own copy of the identifiers, dropped when it completes."""


def capture(session: Session, user_id: uuid.UUID) -> dict[str, list[str]]:
    """Everything that identifies the user, read before any of it is deleted."""
    user = session.get(User, user_id)
    subjects = session.scalars(select(Identity.subject).where(Identity.user_id == user_id))
    devices = session.scalars(select(Device.token).where(Device.user_id == user_id))
    return {
        "ids": [str(user_id), user_id.hex],
        "subjects": sorted(set(subjects)),
        "emails": [user.email] if user is not None and user.email else [],
        "names": [user.display_name] if user is not None and user.display_name else [],
        "devices": sorted(set(devices)),
    }


def searched(identifiers: dict[str, list[str]] | None, user_id: uuid.UUID) -> list[str]:
    """The strings to look for: each identifier as stored and as JSON escapes it."""
    values: list[str] = [str(user_id), user_id.hex]
    for group in (identifiers or {}).values():
        values.extend(v.strip() for v in group if v and len(v.strip()) >= MIN_SEARCHED)
    forms = [*values, *(json.dumps(v)[1:-1] for v in values)]
    return list(dict.fromkeys(forms))


def text_columns(table: Table) -> list[Column[Any]]:
    return [
        column
        for column in table.columns
        if isinstance(column.type, String) and not isinstance(column.type, Enum)
    ]


def _holding(column: Any, values: Sequence[str]) -> Any:
    return or_(*(column.icontains(value, autoescape=True) for value in values))


def hashed(value: str) -> str:
    return "erased:" + hashlib.sha256(value.encode()).hexdigest()[:32]


def rewrite_kept(
    session: Session, tables: Iterable[Table], owner: uuid.UUID, values: Sequence[str]
) -> dict[str, int]:
    """Drop free text and hash identifier-holding system text in ``owner``'s rows (the
    pseudonym's); the number of values changed, by table.column."""
    changed: dict[str, int] = {}
    for table in tables:
        free = FREE_TEXT.get(table.name, ())
        for column in text_columns(table):
            mine = table.c.user_id == owner
            if column.name in free:
                result = session.execute(
                    update(table).where(mine, column.is_not(None)).values({column.name: None})
                )
                count = getattr(result, "rowcount", 0)
            else:
                count = _hash_values(session, table, column, mine, values)
            if count:
                changed[f"{table.name}.{column.name}"] = count
    return changed


def _hash_values(
    session: Session, table: Table, column: Column[Any], mine: Any, values: Sequence[str]
) -> int:
    key = next(iter(table.primary_key.columns))
    found = session.execute(select(key, column).where(mine, _holding(column, values))).all()
    length = getattr(column.type, "length", None)
    fits = length is None or length >= len(hashed(""))
    for row_id, value in found:
        replacement = hashed(value) if fits or not column.nullable else None
        session.execute(update(table).where(key == row_id).values({column.name: replacement}))
    return len(found)


def search(session: Session, values: Sequence[str]) -> list[str]:
    """Every text and JSON column, in every table, that still holds one of ``values``."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in _searchable(table):
            as_text = cast(column, Text) if isinstance(column.type, JSON) else column
            count = session.scalar(
                select(func.count()).select_from(table).where(_holding(as_text, values))
            )
            if count:
                found.append(f"{table.name}.{column.name} ({count} rows)")
    return found


def _searchable(table: Table) -> list[Column[Any]]:
    columns = [*text_columns(table), *(c for c in table.columns if isinstance(c.type, JSON))]
    return [c for c in columns if (table.name, c.name) not in SKIPPED_COLUMNS]
