"""APNs settings and the `Pusher`: the cached provider token plus a way to send a batch.

A Pusher lives as long as its user (a worker, a command) so the provider token is reused;
each batch runs on its own event loop over one fresh HTTP/2 connection per APNs host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import ConfigError
from liveai.identity.jwks import require_https
from liveai.push.client import (
    ApnsClient,
    Notification,
    PushResult,
    Target,
    make_http_client,
    ssl_context,
)
from liveai.push.token import ProviderToken, load_signing_key
from liveai.settings import Settings

T = TypeVar("T")
REQUIRED = ("apns_key_file", "apns_key_id", "apns_team_id", "apple_bundle_id")


@dataclass(frozen=True)
class ApnsConfig:
    key_file: Path
    key_id: str
    team_id: str
    topic: str
    base_url: str | None
    ca_file: Path | None
    timeout: float
    retries: int


def apns_config(settings: Settings) -> ApnsConfig | None:
    """The APNs settings, None when none is set; a partial set is a configuration error."""
    values = {name: getattr(settings, name) for name in REQUIRED}
    if not any(values[name] for name in REQUIRED[:3]):
        return None  # the bundle id alone is the purchases feature's, not a push setup
    missing = [name for name, value in values.items() if not value]
    if missing:
        env = ", ".join(f"LIVEAI_{name.upper()}" for name in missing)
        raise ConfigError(f"APNs is partly configured: {env} missing", hint=f"set {env}")
    if settings.apns_base_url:
        require_https(settings.apns_base_url, what="APNs URL (LIVEAI_APNS_BASE_URL)")
    return ApnsConfig(
        key_file=settings.apns_key_file or Path(),
        key_id=settings.apns_key_id or "",
        team_id=settings.apns_team_id or "",
        topic=settings.apple_bundle_id or "",
        base_url=settings.apns_base_url,
        ca_file=settings.apns_ca_file,
        timeout=settings.apns_timeout_seconds,
        retries=settings.apns_retries,
    )


def require_apns_config(settings: Settings) -> ApnsConfig:
    config = apns_config(settings)
    if config is None:
        raise ConfigError(
            "APNs is not configured",
            hint="set LIVEAI_APNS_KEY_FILE, LIVEAI_APNS_KEY_ID, LIVEAI_APNS_TEAM_ID and "
            "LIVEAI_APPLE_BUNDLE_ID",
        )
    return config


def make_signer(config: ApnsConfig, clock: Clock = SYSTEM_CLOCK) -> ProviderToken:
    key = load_signing_key(config.key_file)
    return ProviderToken(key, key_id=config.key_id, team_id=config.team_id, clock=clock)


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run on a new event loop; from inside a running loop, on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="apns") as pool:
        return pool.submit(asyncio.run, coro).result()


class Pusher:
    """Sends batches of notifications with one long-lived provider token."""

    def __init__(
        self,
        config: ApnsConfig,
        signer: ProviderToken,
        *,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        http_factory: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.config = config
        self.signer = signer
        self.clock = clock
        self.sleep = sleep
        self.http_factory = http_factory or (
            lambda: make_http_client(ca_file=config.ca_file, timeout=config.timeout)
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Pusher:
        config = require_apns_config(settings)
        return cls(config, make_signer(config, clock), clock=clock, sleep=sleep)

    def client(self, http: httpx.AsyncClient) -> ApnsClient:
        return ApnsClient(
            http,
            self.signer,
            topic=self.config.topic,
            base_url=self.config.base_url,
            retries=self.config.retries,
            clock=self.clock,
            sleep=self.sleep,
        )

    def push(self, pushes: Sequence[tuple[Target, Notification]]) -> list[PushResult]:
        """Send every push concurrently and wait for all the results."""
        if not pushes:
            return []
        return run_coroutine(self._push(pushes))

    async def _push(self, pushes: Sequence[tuple[Target, Notification]]) -> list[PushResult]:
        async with self.http_factory() as http:
            return await self.client(http).send_many(pushes)


def apns_status(settings: Settings) -> tuple[bool, str]:
    """For `liveai doctor`: is APNs configured, and do its key and CA bundle load?"""
    try:
        config = apns_config(settings)
        if config is None:
            return True, "not configured: completion pushes are off"
        make_signer(config)
        ssl_context(config.ca_file)
    except ConfigError as exc:
        return False, str(exc)
    where = config.base_url or "Apple's hosts"
    key = f"key {config.key_id} of team {config.team_id}"
    return True, f"{key} loaded; topic {config.topic}; {where}"
