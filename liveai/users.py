"""Users and the identities bound to them; every change writes an audit event."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import Conflict, InvalidInput, NotFound
from liveai.ids import as_uuid, resolve_id
from liveai.models import Identity, User
from liveai.text import refuse_control

MAX_NAME_LENGTH = 200


# The identities table holds at most these (String(255), String(500)).
MAX_SUBJECT = 255
MAX_ISSUER = 500


def _check_name(name: str | None) -> str | None:
    if name is None:
        return None
    cleaned = refuse_control(name.strip(), what="display name")
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"a display name must be 1 to {MAX_NAME_LENGTH} characters, got {len(cleaned)}"
        )
    return cleaned


def _check_email(email: str | None) -> str | None:
    if email is None:
        return None
    local, _, domain = email.strip().partition("@")
    if not local or "." not in domain or " " in email.strip():
        raise InvalidInput(f"{email!r} is not an email address", hint="pass --email name@host")
    return email.strip()


def create_user(
    session: Session,
    *,
    issuer: str,
    subject: str,
    email: str | None = None,
    display_name: str | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> User:
    """Create a user bound to (issuer, subject); refuse a subject that is already bound."""
    if not issuer.strip() or not subject.strip():
        raise InvalidInput("both an issuer and a subject are required")
    if len(subject) > MAX_SUBJECT or len(issuer) > MAX_ISSUER:
        raise InvalidInput(
            f"a subject is at most {MAX_SUBJECT} characters and an issuer {MAX_ISSUER}",
            hint="pass the token's sub and iss claims as they are",
        )
    if find_identity(session, issuer, subject) is not None:
        raise Conflict(
            f"subject {subject!r} of {issuer} is already bound to a user",
            hint=f"see `liveai users show {subject}`",
        )
    now = clock.now()
    user = User(
        display_name=_check_name(display_name),
        email=_check_email(email),
        created_at=now,
        updated_at=now,
    )
    user.identities.append(Identity(issuer=issuer, subject=subject, created_at=now))
    session.add(user)
    session.flush()
    audit.record(session, "user.created", user_id=user.id, actor=actor, clock=clock)
    return user


def find_identity(session: Session, issuer: str, subject: str) -> Identity | None:
    return session.scalar(
        select(Identity).where(Identity.issuer == issuer, Identity.subject == subject)
    )


def get_user(session: Session, ref: str | uuid.UUID) -> User:
    """Find a user by id, by a subject bound to it, by a unique id prefix, or by e-mail (an
    Apple relay address too); an e-mail on several accounts is refused, naming them."""
    user_id = as_uuid(ref)
    if user_id is not None:
        user = session.get(User, user_id, options=[selectinload(User.identities)])
        if user is not None:
            return user
    if "@" in str(ref):
        return _by_email(session, str(ref))
    matches = session.scalars(
        select(User).join(Identity).where(Identity.subject == str(ref)).distinct()
    ).all()
    if len(matches) > 1:
        raise Conflict(f"subject {ref!r} is bound to {len(matches)} users", hint="pass a user id")
    hint = "see `liveai users list` for ids and subjects"
    if not matches and user_id is None:
        prefixed = resolve_id(session, User.id, ref, noun="user", hint=hint)
        found = session.get(User, prefixed) if prefixed else None
        if found is not None:
            return found
    if not matches:
        raise NotFound(f"no user {ref!r}", hint=hint)
    return matches[0]


def _by_email(session: Session, email: str) -> User:
    wanted = email.strip().removeprefix("mailto:").lower()
    matches = session.scalars(
        select(User)
        .options(selectinload(User.identities))
        .where(func.lower(User.email) == wanted)
        .order_by(User.created_at, User.id)
    ).all()
    if len(matches) > 1:
        ids = ", ".join(str(u.id) for u in matches)
        raise Conflict(
            f"the e-mail {wanted} is on {len(matches)} accounts: {ids}", hint="pass a user id"
        )
    if not matches:
        raise NotFound(f"no user has the e-mail {wanted}", hint="see `liveai users list`")
    return matches[0]


def list_users(session: Session, *, limit: int | None = None) -> Sequence[User]:
    query = select(User).options(selectinload(User.identities)).order_by(User.created_at, User.id)
    return session.scalars(query.limit(limit)).all()


def rename_user(
    session: Session,
    ref: str | uuid.UUID,
    display_name: str,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> User:
    """The right to correction: change the display name."""
    user = get_user(session, ref)
    user.display_name = _check_name(display_name)
    user.updated_at = clock.now()
    audit.record(
        session,
        "user.renamed",
        user_id=user.id,
        details={"field": "display_name"},
        actor=actor,
        clock=clock,
    )
    return user


def user_to_dict(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "status": user.status.value,
        "display_name": user.display_name,
        "email": user.email,
        "identities": [{"issuer": i.issuer, "subject": i.subject} for i in user.identities],
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
    }
