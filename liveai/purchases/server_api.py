"""The App Store Server API client: Get Transaction Info and Send Consumption Information,
authenticated by an ES256 JWT."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from liveai.clock import Clock
from liveai.errors import AuthError, ConfigError, InvalidInput, NotFound, UpstreamError
from liveai.identity.jwks import require_https
from liveai.keys import load_p8
from liveai.settings import Settings

AUDIENCE = "appstoreconnect-v1"
TOKEN_LIFETIME = timedelta(minutes=5)
NOT_FOUND_CODES = frozenset({4040010})
RETRYABLE_CODES = frozenset({4040002, 4040004, 4040006, 4290000, 5000001})


def load_private_key(value: str) -> ec.EllipticCurvePrivateKey:
    """The In-App Purchase key from PEM text or from the path of its .p8 file."""
    return load_p8(
        value,
        setting="LIVEAI_APPLE_API_PRIVATE_KEY",
        hint="set it to the .p8 file from App Store Connect, or its path",
    )


class ServerApiClient:
    """One App Store Server API environment (production or sandbox)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        key_id: str,
        issuer_id: str,
        private_key: ec.EllipticCurvePrivateKey,
        bundle_id: str,
        clock: Clock,
        attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.base_url = require_https(base_url, what="App Store Server API URL").rstrip("/")
        self.key_id = key_id
        self.issuer_id = issuer_id
        self.private_key = private_key
        self.bundle_id = bundle_id
        self.clock = clock
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep

    def auth_token(self) -> str:
        """A fresh, short-lived bearer token; Apple wants one per request."""
        now = self.clock.now()
        claims = {
            "iss": self.issuer_id,
            "iat": int(now.timestamp()),
            "exp": int((now + TOKEN_LIFETIME).timestamp()),
            "aud": AUDIENCE,
            "bid": self.bundle_id,
            "nonce": str(uuid.uuid4()),
        }
        headers = {"kid": self.key_id, "typ": "JWT"}
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers=headers)

    def get_transaction_info(self, transaction_id: str) -> str:
        """The signedTransactionInfo JWS of a transaction (verify it before use)."""
        if not transaction_id.isdigit():
            raise InvalidInput(f"{transaction_id!r} is not an App Store transaction id")
        body = self._get(f"/inApps/v1/transactions/{transaction_id}")
        signed = body.get("signedTransactionInfo")
        if not isinstance(signed, str):
            raise UpstreamError("the App Store Server API answer has no signedTransactionInfo")
        return signed

    def send_consumption_information(self, transaction_id: str, body: dict[str, Any]) -> None:
        """Send Consumption Information (v2) in answer to a CONSUMPTION_REQUEST; Apple
        answers 202 Accepted."""
        if not transaction_id.isdigit():
            raise InvalidInput(f"{transaction_id!r} is not an App Store transaction id")
        self._call("PUT", f"/inApps/v2/transactions/consumption/{transaction_id}", body)

    def _get(self, path: str) -> dict[str, Any]:
        return self._call("GET", path) or {}

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        for attempt in range(1, self.attempts + 1):
            try:
                return self._call_once(method, path, body)
            except _Retry as retry:
                if attempt == self.attempts:
                    raise retry.error from None
                self.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _call_once(
        self, method: str, path: str, body: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {self.auth_token()}"}
        try:
            response = self.http.request(method, url, headers=headers, json=body)
        except httpx.HTTPError as exc:
            raise _Retry(UpstreamError(f"App Store Server API {url} failed: {exc!r}")) from None
        if method != "GET" and response.status_code in (200, 202, 204):
            return None
        if response.status_code == 200:
            return _json(response, url)
        raise _error(response, url)


class _Retry(Exception):
    def __init__(self, error: UpstreamError) -> None:
        self.error = error


def _json(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise _Retry(
            UpstreamError(f"App Store Server API {url} sent a body that is not JSON")
        ) from None
    if not isinstance(body, dict):
        raise _Retry(UpstreamError(f"App Store Server API {url} sent a body that is not an object"))
    return body


def _error(response: httpx.Response, url: str) -> Exception:
    status = response.status_code
    if status == 401:
        return AuthError(
            "the App Store Server API refused our token (401)",
            hint="check LIVEAI_APPLE_API_KEY_ID, LIVEAI_APPLE_API_ISSUER_ID and the key",
        )
    code, message = _error_body(response)
    text = f"App Store Server API answered {status}" + (f" {code}: {message}" if code else "")
    if code in NOT_FOUND_CODES:
        return NotFound(text, hint="check the transaction id and the environment")
    if code in RETRYABLE_CODES or status == 429 or status >= 500:
        return _Retry(UpstreamError(text, hint="try again later"))
    if status == 400:
        return InvalidInput(text)
    return UpstreamError(text)


def _error_body(response: httpx.Response) -> tuple[int | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict) or not isinstance(body.get("errorCode"), int):
        return None, ""
    return body["errorCode"], str(body.get("errorMessage", ""))


def clients_from_settings(
    settings: Settings, http: httpx.Client, clock: Clock, *, sleep: Callable[[float], None]
) -> list[ServerApiClient]:
    """Production first, then sandbox (when sandbox purchases are accepted)."""
    missing = [
        name
        for name, value in (
            ("LIVEAI_APPLE_BUNDLE_ID", settings.apple_bundle_id),
            ("LIVEAI_APPLE_API_KEY_ID", settings.apple_api_key_id),
            ("LIVEAI_APPLE_API_ISSUER_ID", settings.apple_api_issuer_id),
            ("LIVEAI_APPLE_API_PRIVATE_KEY", settings.apple_api_private_key),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"the App Store Server API is not configured: {', '.join(missing)} missing",
            hint="create an In-App Purchase key in App Store Connect and set these settings",
        )
    assert settings.apple_api_private_key and settings.apple_bundle_id
    assert settings.apple_api_key_id and settings.apple_api_issuer_id
    key = load_private_key(settings.apple_api_private_key.get_secret_value())
    urls = [settings.apple_api_url]
    if settings.apple_allow_sandbox or settings.environment != "production":
        urls.append(settings.apple_api_sandbox_url)
    return [
        ServerApiClient(
            http,
            base_url=url,
            key_id=settings.apple_api_key_id,
            issuer_id=settings.apple_api_issuer_id,
            private_key=key,
            bundle_id=settings.apple_bundle_id,
            clock=clock,
            sleep=sleep,
        )
        for url in urls
    ]


def lookup(clients: list[ServerApiClient], transaction_id: str) -> str:
    """Ask each environment in turn; a transaction unknown to all of them is NotFound."""
    last: NotFound | None = None
    for client in clients:
        try:
            return client.get_transaction_info(transaction_id)
        except NotFound as exc:
            last = exc
    assert last is not None
    raise last
