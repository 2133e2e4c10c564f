"""The remote accounts an erasure closes, built from the settings: Apple and Logto."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy.orm import Session

from liveai.apple import AppleClient, cipher_from_settings, revoke_tokens
from liveai.errors import ConfigError
from liveai.logto import LogtoManagement
from liveai.privacy.erasure import Upstream
from liveai.settings import Settings

TIMEOUT = httpx.Timeout(15.0, connect=5.0)


@contextmanager
def upstream_from_settings(settings: Settings, *, actor: str = "system") -> Iterator[Upstream]:
    """An Upstream whose services are those configured; unconfigured ones are None."""
    with httpx.Client(timeout=TIMEOUT) as http:
        yield Upstream(
            revoke_apple=_apple_revoker(settings, http, actor),
            delete_logto_user=_logto_deleter(settings, http),
            logto_issuer=settings.logto_issuer,
        )


def _apple_revoker(settings: Settings, http: httpx.Client, actor: str) -> Upstream.Revoker | None:
    try:
        client = AppleClient.from_settings(settings)
        cipher = cipher_from_settings(settings)
    except ConfigError:
        return None

    def revoke(session: Session, user_id: uuid.UUID) -> int:
        return revoke_tokens(session, user_id, client=client, http=http, cipher=cipher, actor=actor)

    return revoke


def _logto_deleter(settings: Settings, http: httpx.Client) -> Upstream.Deleter | None:
    try:
        management = LogtoManagement.from_settings(settings, http=http)
    except ConfigError:
        return None
    return management.delete_user
