"""The device registry: a user's APNs tokens, their environment, app and iOS versions, locale.

A token belongs to one device, hence to at most one user: registering it again updates the
device (and moves it when another user signed in on that phone).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import InvalidInput, NotFound
from liveai.models import ApnsEnvironment, Device
from liveai.users import get_user

_TOKEN = re.compile(r"^[0-9a-f]{32,200}$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_VERSION = re.compile(r"^[0-9A-Za-z.\-()+ ]{1,50}$")


def normalise_token(token: str) -> str:
    """Device tokens are hex; Apple does not promise a length, so only bounds are checked."""
    cleaned = token.strip().replace(" ", "").lower().strip("<>")
    if not _TOKEN.match(cleaned) or len(cleaned) % 2:
        raise InvalidInput(
            "a device token is an even number (32 to 200) of hexadecimal digits",
            hint="pass the token as the app reported it, e.g. 64 hex digits",
        )
    return cleaned


def parse_environment(value: str | ApnsEnvironment) -> ApnsEnvironment:
    try:
        return ApnsEnvironment(str(value).strip().lower())
    except ValueError:
        raise InvalidInput(
            f"unknown APNs environment {value!r}", hint="use sandbox or production"
        ) from None


def _checked(value: str | None, pattern: re.Pattern[str], what: str, example: str) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if not pattern.match(cleaned):
        raise InvalidInput(f"{value!r} is not a valid {what}", hint=f"for example {example}")
    return cleaned


def register_device(
    session: Session,
    user_ref: str | uuid.UUID,
    token: str,
    environment: str | ApnsEnvironment,
    *,
    app_version: str | None = None,
    ios_version: str | None = None,
    locale: str | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> Device:
    """Add a device, or refresh it (and its owner) when the token is already known."""
    user = get_user(session, user_ref)
    token = normalise_token(token)
    env = parse_environment(environment)
    app_version = _checked(app_version, _VERSION, "app version", "1.4.2")
    ios_version = _checked(ios_version, _VERSION, "iOS version", "18.1")
    locale = _checked(locale, _LOCALE, "locale", "zh-Hans or en")
    now = clock.now()
    device = find_device(session, token)
    action = "device.updated"
    if device is None:
        device = Device(token=token, user_id=user.id, created_at=now, environment=env)
        session.add(device)
        action = "device.registered"
    elif device.user_id != user.id:
        audit.record(
            session,
            "device.removed",
            user_id=device.user_id,
            details={"device_id": device.id, "reason": "moved_to_another_user"},
            actor=actor,
            clock=clock,
        )
        device.user_id = user.id
        action = "device.registered"
    device.environment = env
    device.app_version = app_version
    device.ios_version = ios_version
    device.locale = locale
    device.last_seen_at = now
    session.flush()
    audit.record(
        session,
        action,
        user_id=user.id,
        details={"device_id": device.id, "environment": env.value},
        actor=actor,
        clock=clock,
    )
    return device


def find_device(session: Session, token: str) -> Device | None:
    return session.scalar(select(Device).where(Device.token == token))


def get_device(session: Session, token: str) -> Device:
    device = find_device(session, normalise_token(token))
    if device is None:
        raise NotFound(f"no device with token {token[:8]}…", hint="see `liveai devices list USER`")
    return device


def list_devices(session: Session, user_ref: str | uuid.UUID) -> Sequence[Device]:
    user = get_user(session, user_ref)
    return devices_of(session, user.id)


def devices_of(session: Session, user_id: uuid.UUID) -> Sequence[Device]:
    query = select(Device).where(Device.user_id == user_id).order_by(Device.created_at, Device.id)
    return session.scalars(query).all()


def remove_device(
    session: Session,
    token: str,
    *,
    reason: str = "operator",
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> Device:
    """Forget a device; `reason` is a code for the audit log (operator, Unregistered, ...)."""
    device = get_device(session, token)
    _delete(session, device, reason=reason, actor=actor, clock=clock)
    return device


def _delete(session: Session, device: Device, *, reason: str, actor: str, clock: Clock) -> None:
    audit.record(
        session,
        "device.removed",
        user_id=device.user_id,
        details={"device_id": device.id, "reason": reason},
        actor=actor,
        clock=clock,
    )
    session.delete(device)
    session.flush()


def forget_invalid_token(
    session: Session,
    token: str,
    reason: str,
    *,
    invalid_since: datetime | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Remove a token APNs refused, unless the device registered again after it went invalid."""
    device = find_device(session, token)
    if device is None:
        return False
    if invalid_since is not None and device.last_seen_at > invalid_since:
        return False
    _delete(session, device, reason=reason, actor="apns", clock=clock)
    return True


def device_to_dict(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "user_id": str(device.user_id),
        "token": device.token,
        "environment": device.environment.value,
        "app_version": device.app_version,
        "ios_version": device.ios_version,
        "locale": device.locale,
        "created_at": device.created_at.isoformat(),
        "last_seen_at": device.last_seen_at.isoformat(),
    }
