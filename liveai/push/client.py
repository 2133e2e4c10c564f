"""The APNs provider API over HTTP/2: one request per device, Apple's answers interpreted.

Invalid tokens (410 Unregistered/ExpiredToken, 400 BadDeviceToken/DeviceTokenNotForTopic)
are reported for removal; 403 ExpiredProviderToken renews the JWT and retries once; 429,
5xx and transport failures retry with exponential backoff; anything else fails with its
reason. Nothing here raises for a refused push: every push ends in a `PushResult`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import ConfigError, InvalidInput
from liveai.identity.jwks import require_https
from liveai.models import ApnsEnvironment
from liveai.push.token import ProviderToken

log = logging.getLogger("liveai.push")

APPLE_HOSTS = {
    ApnsEnvironment.PRODUCTION: "https://api.push.apple.com",
    ApnsEnvironment.SANDBOX: "https://api.sandbox.push.apple.com",
}
INVALID_TOKEN_REASONS = {
    400: {"BadDeviceToken", "DeviceTokenNotForTopic"},
    410: {"Unregistered", "ExpiredToken"},
}
MAX_PAYLOAD_BYTES = 4096
MAX_COLLAPSE_ID_BYTES = 64
DEFAULT_TTL = timedelta(days=1)
MAX_PARALLEL = 32


class PushOutcome(StrEnum):
    DELIVERED = "delivered"
    INVALID_TOKEN = "invalid_token"
    FAILED = "failed"


@dataclass(frozen=True)
class Notification:
    """An alert; `data` adds custom top-level keys next to `aps` (e.g. the task id)."""

    title: str
    body: str
    collapse_id: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)
    thread_id: str | None = None
    ttl: timedelta = DEFAULT_TTL
    priority: int = 10

    def payload(self) -> bytes:
        aps: dict[str, Any] = {"alert": {"title": self.title, "body": self.body}}
        aps["sound"] = "default"
        if self.thread_id:
            aps["thread-id"] = self.thread_id
        document = {**self.data, "aps": aps}
        encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        if len(encoded) > MAX_PAYLOAD_BYTES:
            raise InvalidInput(
                f"the notification is {len(encoded)} bytes; APNs takes at most {MAX_PAYLOAD_BYTES}",
                hint="shorten the title or body",
            )
        return encoded

    def check(self) -> None:
        if not self.title.strip() or not self.body.strip():
            raise InvalidInput("a notification needs a title and a body")
        if self.collapse_id and len(self.collapse_id.encode()) > MAX_COLLAPSE_ID_BYTES:
            raise InvalidInput(f"a collapse id is at most {MAX_COLLAPSE_ID_BYTES} bytes")
        self.payload()


@dataclass(frozen=True)
class Target:
    token: str
    environment: ApnsEnvironment


@dataclass(frozen=True)
class PushResult:
    target: Target
    outcome: PushOutcome
    status: int | None
    reason: str | None
    attempts: int
    apns_id: str | None = None
    invalid_since: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome is PushOutcome.DELIVERED


def ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The usual public CAs, plus an optional extra bundle (a TLS proxy's, a test server's)."""
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file.expanduser()))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load the CA bundle {ca_file}: {exc}",
                hint="point LIVEAI_APNS_CA_FILE at a PEM file of CA certificates, or unset it",
            ) from None
    return context


def make_http_client(
    *, ca_file: Path | None = None, timeout: float = 5.0, limits: httpx.Limits | None = None
) -> httpx.AsyncClient:
    """An HTTP/2-only client for APNs.

    Async because httpcore's sync HTTP/2 connection is not safe to share between threads
    (its HPACK encoder is unlocked); coroutines multiplex one connection safely.
    """
    return httpx.AsyncClient(
        http1=False,
        http2=True,
        verify=ssl_context(ca_file),
        timeout=timeout,
        limits=limits or httpx.Limits(max_connections=4, max_keepalive_connections=2),
    )


class ApnsClient:
    """Sends notifications with one shared provider token over a caller-owned httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        signer: ProviderToken,
        *,
        topic: str,
        base_url: str | None = None,
        retries: int = 2,
        backoff: float = 0.5,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.signer = signer
        self.topic = topic
        self.base_url = require_https(base_url, what="APNs URL").rstrip("/") if base_url else None
        self.retries = retries
        self.backoff = backoff
        self.clock = clock
        self.sleep = sleep

    def url(self, target: Target) -> str:
        base = self.base_url or APPLE_HOSTS[target.environment]
        return f"{base}/3/device/{target.token}"

    def headers(self, provider_token: str, note: Notification) -> dict[str, str]:
        expires = self.clock.now() + note.ttl
        headers = {
            "authorization": f"bearer {provider_token}",
            "apns-topic": self.topic,
            "apns-push-type": "alert",
            "apns-priority": str(note.priority),
            "apns-expiration": str(int(expires.timestamp())),
        }
        if note.collapse_id:
            headers["apns-collapse-id"] = note.collapse_id
        return headers

    async def send(self, target: Target, note: Notification) -> PushResult:
        """Deliver one notification; never raises for a refusal or a network failure."""
        body = note.payload()
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            provider_token = self.signer.current()
            try:
                response = await self.http.post(
                    self.url(target), content=body, headers=self.headers(provider_token, note)
                )
            except httpx.TransportError as exc:
                if attempt <= self.retries:
                    await self._back_off(attempt)
                    continue
                return self._failed(target, None, type(exc).__name__, attempt)
            status, reason = response.status_code, _reason(response)
            if status == 403 and reason == "ExpiredProviderToken" and not renewed:
                self.signer.renew(provider_token)
                renewed = True
                attempt -= 1
                continue
            if (status == 429 or status >= 500) and attempt <= self.retries:
                await self._back_off(attempt)
                continue
            return self._result(target, response, reason, attempt)

    async def send_many(
        self, pushes: Sequence[tuple[Target, Notification]], *, parallel: int = MAX_PARALLEL
    ) -> list[PushResult]:
        """Send concurrently, in order of the input; HTTP/2 multiplexes one connection per host."""
        gate = asyncio.Semaphore(max(1, parallel))

        async def one(target: Target, note: Notification) -> PushResult:
            async with gate:
                return await self.send(target, note)

        return list(await asyncio.gather(*(one(*push) for push in pushes)))

    async def _back_off(self, attempt: int) -> None:
        await self.sleep(self.backoff * 2 ** (attempt - 1))

    def _result(
        self, target: Target, response: httpx.Response, reason: str | None, attempts: int
    ) -> PushResult:
        status = response.status_code
        apns_id = response.headers.get("apns-id")
        if status == 200:
            return PushResult(target, PushOutcome.DELIVERED, status, None, attempts, apns_id)
        if reason in INVALID_TOKEN_REASONS.get(status, set()):
            log.info("APNs: token %s… is invalid (%s %s)", target.token[:8], status, reason)
            since = _timestamp(response) if status == 410 else None
            return PushResult(
                target, PushOutcome.INVALID_TOKEN, status, reason, attempts, apns_id, since
            )
        return self._failed(target, status, reason, attempts, apns_id)

    def _failed(
        self,
        target: Target,
        status: int | None,
        reason: str | None,
        attempts: int,
        apns_id: str | None = None,
    ) -> PushResult:
        log.warning(
            "APNs push to %s… failed after %d attempt(s): %s %s",
            target.token[:8],
            attempts,
            status or "-",
            reason or "-",
        )
        return PushResult(target, PushOutcome.FAILED, status, reason, attempts, apns_id)


def _error_document(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _reason(response: httpx.Response) -> str | None:
    if response.status_code == 200:
        return None
    reason = _error_document(response).get("reason")
    if isinstance(reason, str):
        return reason
    return f"unreadable answer (HTTP {response.status_code})"


def _timestamp(response: httpx.Response) -> datetime | None:
    millis = _error_document(response).get("timestamp")
    if isinstance(millis, int) and not isinstance(millis, bool):
        return datetime.fromtimestamp(millis / 1000, UTC)
    return None
