"""The local developer user: created on first use, with credits and consents to generate."""

from __future__ import annotations

from sqlalchemy.orm import Session

from liveai import ledger, users
from liveai.clock import Clock
from liveai.errors import NotFound
from liveai.models import User
from liveai.privacy import consents
from liveai.providers.moderation import configured_screening
from liveai.settings import Settings

DEV_ISSUER = "urn:liveai:local"


def dev_grant_allowed(settings: Settings) -> bool:
    return settings.is_embedded or settings.environment == "development"


def short_of_credits_hint(settings: Settings, user_id: object, price: int) -> str:
    """What to do when a generation's price cannot be held: the command, and on a
    configured database why the developer user got no free credits."""
    grant = f"`liveai credits grant {user_id} {max(price, 100)} --reason testing` adds more"
    if dev_grant_allowed(settings):
        return grant
    return (
        f"{grant}; the local developer user's one-time {settings.dev_grant_credits}-credit "
        "grant applies only to the embedded database or with LIVEAI_ENVIRONMENT=development"
    )


def developer_user(session: Session, settings: Settings, *, clock: Clock) -> User:
    """The local developer user, created on first use.

    On an embedded or development install it gets one promotional grant, recorded on the
    ledger under a fixed key, and the consents a generation by the configured providers
    (or the local renderer) needs, recorded as given by staff, so a fresh machine can run
    `liveai generate` at once.
    """
    found = users.find_identity(session, DEV_ISSUER, settings.default_user)
    if found is not None:
        return users.get_user(session, found.user_id)
    user = users.create_user(
        session,
        issuer=DEV_ISSUER,
        subject=settings.default_user,
        display_name="Local developer",
        clock=clock,
    )
    if dev_grant_allowed(settings) and settings.dev_grant_credits > 0:
        ledger.grant(
            session,
            user.id,
            settings.dev_grant_credits,
            key=f"dev-user:{user.id}:welcome",
            reason="promotional grant for the local developer user",
            clock=clock,
        )
    consents.grant_needed(
        session,
        user,
        [*consents.routes_from(settings), "local"],
        evidence=consents.Evidence(note="given on creation of the local developer user"),
        screening=configured_screening(settings),
        clock=clock,
    )
    return user


def resolve_user(session: Session, settings: Settings, ref: str | None, *, clock: Clock) -> User:
    if ref is None:
        return developer_user(session, settings, clock=clock)
    try:
        return users.get_user(session, ref)
    except NotFound:
        raise NotFound(
            f"no user {ref!r}", hint="see `liveai users list`, or leave out --user"
        ) from None
