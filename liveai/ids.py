"""Ids as people type them: whole, or a unique prefix of at least six hex digits.

Like git and docker: `2e72b7` finds the one task whose id starts so; a prefix more than
one id starts with is an error that names them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from liveai.errors import AmbiguousId

MIN_PREFIX = 6
SHOWN_MATCHES = 5
_HEX = frozenset("0123456789abcdef")


def as_uuid(ref: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(ref, uuid.UUID):
        return ref
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def id_prefix(ref: str) -> str | None:
    """The hex digits of `ref` when it can be an id prefix, else None."""
    digits = ref.replace("-", "").lower()
    if MIN_PREFIX <= len(digits) < 32 and set(digits) <= _HEX:
        return digits
    return None


def resolve_id(
    session: Session, column: Any, ref: str | uuid.UUID, *, noun: str, hint: str, where: Any = None
) -> uuid.UUID | None:
    """The id `ref` names: itself when whole, or the one id it is a prefix of; else None."""
    whole = as_uuid(ref)
    if whole is not None:
        return whole
    digits = id_prefix(str(ref))
    if digits is None:
        return None
    query = select(column).where(func.replace(cast(column, String), "-", "").like(digits + "%"))
    if where is not None:
        query = query.where(where)
    matches = session.scalars(query.order_by(column).limit(SHOWN_MATCHES + 1)).all()
    if len(matches) > 1:
        shown = ", ".join(str(m) for m in matches[:SHOWN_MATCHES])
        more = ", ..." if len(matches) > SHOWN_MATCHES else ""
        raise AmbiguousId(
            f"{ref!r} is the start of more than one {noun} id: {shown}{more}",
            hint=f"type more of it; {hint}",
        )
    return matches[0] if matches else None
