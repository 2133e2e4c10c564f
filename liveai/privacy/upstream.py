"""The remote accounts an erasure closes, built from the settings: Apple and Logto, and
the providers still holding the user's unfinished tasks.

A service with none of its settings is not used here (the erasure notes what to do by
hand). A service with some of its settings but not a working set is an error when the
erasure reaches its step, naming the setting: the account is restricted by then, and the
erasure resumes once the setting is fixed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy.orm import Session

from liveai.errors import ConfigError
from liveai.identity.logto import LogtoManagement
from liveai.identity.siwa import AppleClient, cipher_from_settings, revoke_tokens
from liveai.privacy.erasure import Upstream
from liveai.providers.registry import build_providers
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
            cancel_task=_canceller(settings, http),
        )


def _apple_revoker(settings: Settings, http: httpx.Client, actor: str) -> Upstream.Revoker | None:
    named = (settings.siwa_team_id, settings.siwa_key_id, settings.siwa_private_key)
    if not any(named):
        return None
    try:
        client = AppleClient.from_settings(settings)
        cipher = cipher_from_settings(settings)
    except ConfigError as exc:
        return _broken(exc, "Sign in with Apple")

    def revoke(session: Session, user_id: uuid.UUID) -> int:
        return revoke_tokens(session, user_id, client=client, http=http, cipher=cipher, actor=actor)

    return revoke


def _logto_deleter(settings: Settings, http: httpx.Client) -> Upstream.Deleter | None:
    if not (settings.logto_m2m_app_id or settings.logto_m2m_app_secret):
        return None
    missing = [
        name
        for name, value in (
            ("LIVEAI_LOGTO_ISSUER", settings.logto_issuer),
            ("LIVEAI_LOGTO_M2M_APP_ID", settings.logto_m2m_app_id),
            ("LIVEAI_LOGTO_M2M_APP_SECRET", settings.logto_m2m_app_secret),
        )
        if not value
    ]
    if missing:
        problem = ConfigError(
            f"the Logto Management API is half configured: {', '.join(missing)} not set",
            hint="set it, or unset the other LIVEAI_LOGTO_M2M_* settings",
        )
        return _broken(problem, "Logto")
    try:
        management = LogtoManagement.from_settings(settings, http=http)
    except ConfigError as exc:
        return _broken(exc, "Logto")
    return management.delete_user


def _broken(problem: ConfigError, service: str) -> Callable[..., Any]:
    """A stand-in that raises the configuration error when the erasure reaches the step."""

    def refuse(*_args: Any) -> Any:
        raise ConfigError(
            f"{service} is misconfigured, so the erasure cannot close its account: "
            f"{problem.message}",
            hint=problem.hint or "fix the setting and run the erasure again",
        )

    return refuse


def _canceller(settings: Settings, http: httpx.Client) -> Upstream.Canceller:
    """Cancel a task at its provider, where the provider is still configured here."""

    def cancel(provider: str, provider_task_id: str) -> bool:
        providers = build_providers(settings, http)
        if provider not in providers:
            return False
        return providers[provider].cancel(provider_task_id)

    return cancel
