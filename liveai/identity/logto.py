"""Logto Management API: a machine-to-machine token (cached), get and delete a user."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import ConfigError, NotFound, UpstreamError
from liveai.identity.jwks import require_https
from liveai.settings import Settings

# Refetch the M2M token this long before Logto says it expires.
EXPIRY_MARGIN = timedelta(seconds=60)
_HINT = "set LIVEAI_LOGTO_ISSUER, LIVEAI_LOGTO_M2M_APP_ID and LIVEAI_LOGTO_M2M_APP_SECRET"


class LogtoManagement:
    def __init__(
        self,
        *,
        issuer: str,
        app_id: str,
        app_secret: str,
        http: httpx.Client,
        resource: str = "https://default.logto.app/api",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.issuer = require_https(issuer.rstrip("/"), what="Logto issuer")
        if not self.issuer.endswith("/oidc"):
            raise ConfigError(f"the Logto issuer {issuer!r} should end in /oidc", hint=_HINT)
        self.api_base = self.issuer.removesuffix("/oidc") + "/api"
        self._auth = (app_id, app_secret)
        self._resource = resource
        self._http = http
        self._clock = clock
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()
        self.token_fetches = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http: httpx.Client, clock: Clock = SYSTEM_CLOCK
    ) -> LogtoManagement:
        secret = settings.logto_m2m_app_secret
        if not (settings.logto_issuer and settings.logto_m2m_app_id and secret):
            raise ConfigError("the Logto Management API is not configured", hint=_HINT)
        return cls(
            issuer=settings.logto_issuer,
            app_id=settings.logto_m2m_app_id,
            app_secret=secret.get_secret_value(),
            resource=settings.logto_management_resource,
            http=http,
            clock=clock,
        )

    def get_user(self, user_id: str) -> dict[str, Any]:
        response = self._call("GET", user_id)
        if response.status_code == 404:
            raise NotFound(f"Logto has no user {user_id!r}")
        _raise_for(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UpstreamError("Logto answered with a user that is not a JSON object")
        return body

    def delete_user(self, user_id: str) -> bool:
        """Delete the user in Logto; False when it was already gone (404)."""
        response = self._call("DELETE", user_id)
        if response.status_code == 404:
            return False
        _raise_for(response)
        return True

    def _call(self, method: str, user_id: str) -> httpx.Response:
        """One request with the cached token; a 401 refetches the token once."""
        url = f"{self.api_base}/users/{quote(user_id, safe='')}"
        response = self._send(method, url, self._access_token())
        if response.status_code == 401:
            self._token = None
            response = self._send(method, url, self._access_token())
        return response

    def _send(self, method: str, url: str, token: str) -> httpx.Response:
        try:
            return self._http.request(method, url, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"Logto is unreachable: {type(exc).__name__}", hint="retry later"
            ) from None

    def _access_token(self) -> str:
        with self._lock:
            now = self._clock.now()
            if self._token is not None and now < self._token[1]:
                return self._token[0]
            token, lifetime = self._fetch_token()
            self._token = (token, now + max(lifetime - EXPIRY_MARGIN, timedelta(0)))
            return token

    def _fetch_token(self) -> tuple[str, timedelta]:
        self.token_fetches += 1
        form = {"grant_type": "client_credentials", "resource": self._resource, "scope": "all"}
        try:
            response = self._http.post(f"{self.issuer}/token", data=form, auth=self._auth)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"Logto's token endpoint is unreachable: {type(exc).__name__}", hint="retry later"
            ) from None
        if response.status_code != 200:
            raise UpstreamError(
                f"Logto refused the machine-to-machine token: {_reason(response)}", hint=_HINT
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        expires_in = body.get("expires_in", 3600) if isinstance(body, dict) else None
        if not isinstance(token, str) or not isinstance(expires_in, int) or not token:
            raise UpstreamError("Logto's token response has no access_token")
        return token, timedelta(seconds=expires_in)


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        code = body.get("error") or body.get("code")
        if isinstance(code, str):
            return f"HTTP {response.status_code} {code}"
    return f"HTTP {response.status_code}"


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 300:
        return
    reason = _reason(response)
    if response.status_code == 403:
        raise UpstreamError(
            f"Logto forbids this ({reason})", hint="give the M2M app the Management API `all` role"
        )
    raise UpstreamError(f"Logto's Management API failed: {reason}", hint="retry later")
