"""Cached JSON Web Key Sets (Logto's /oidc/jwks, Apple's /auth/keys).

Keys are refetched after `refresh_after`; an unknown `kid` triggers one refetch, at most
every `refetch_interval` (longer after failures); when the key server is down, cached keys
keep working until they are `max_age` old.
"""

from __future__ import annotations

import ipaddress
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import AuthError, ConfigError, UpstreamError

# Only asymmetric keys: an "oct" key would turn the set into an HMAC secret.
ACCEPTED_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_https(url: str, *, what: str) -> str:
    """Refuse a URL that is not https, except for loopback addresses (tests, local fakes)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return url
    raise ConfigError(
        f"the {what} {url!r} must be an https URL",
        hint="plain http is only allowed for loopback addresses such as 127.0.0.1",
    )


class KeySet:
    """One remote key set, fetched with the injected client and cached in memory.

    One fetch at a time, outside the lock that guards the cache: while it runs, callers
    that would need it fail at once instead of queueing behind it. A failed fetch counts
    as an attempt too: the next waits the refetch interval, doubled after each further
    failure (up to 16 intervals), so junk tokens cannot flood a key server that is down.
    """

    def __init__(
        self,
        url: str,
        *,
        http: httpx.Client,
        name: str,
        clock: Clock = SYSTEM_CLOCK,
        refresh_after: timedelta = timedelta(hours=1),
        max_age: timedelta = timedelta(hours=24),
        refetch_interval: timedelta = timedelta(seconds=60),
    ) -> None:
        self.url = require_https(url, what=f"{name} key set URL")
        self.name = name
        self._http = http
        self._clock = clock
        self._refresh_after = refresh_after
        self._max_age = max_age
        self._refetch_interval = refetch_interval
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: datetime | None = None
        self._attempted_at: datetime | None = None
        self._failures = 0
        self._last_error: UpstreamError | None = None
        self._fetching = False
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> PyJWK:
        """The key with this id, refetching the set (rate-limited) when it is stale or the
        id is unknown."""
        now = self._clock.now()
        with self._lock:
            self._drop_expired(now)
            found = self._keys.get(kid)
            wanted = found is None or self._is_stale(now)
            fetch = wanted and not self._fetching and self._may_fetch(now)
            if fetch:
                self._fetching, self._attempted_at = True, now
            busy = wanted and self._fetching and not fetch
        if fetch:
            self._refresh(now)
            with self._lock:
                found = self._keys.get(kid)
        if found is not None:
            return found
        if not self._keys:
            raise self._unavailable(busy)
        raise AuthError(f"unknown key id {kid!r}: not in the {self.name} key set")

    def refresh(self) -> int:
        """Fetch the set now (for `liveai doctor`); return how many keys it holds."""
        now = self._clock.now()
        keys = self._fetch()
        with self._lock:
            self._keys, self._fetched_at, self._attempted_at = keys, now, now
            self._failures, self._last_error = 0, None
            return len(self._keys)

    def _is_stale(self, now: datetime) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self._refresh_after

    def _may_fetch(self, now: datetime) -> bool:
        if self._attempted_at is None:
            return True
        doublings = min(max(self._failures - 1, 0), 4)
        return now - self._attempted_at >= self._refetch_interval * (1 << doublings)

    def _drop_expired(self, now: datetime) -> None:
        if self._fetched_at is not None and now - self._fetched_at >= self._max_age:
            self._keys = {}

    def _refresh(self, now: datetime) -> None:
        """Fetch (outside the lock); on failure keep the cached keys (they expire at max_age)."""
        try:
            keys = self._fetch()
        except UpstreamError as exc:
            with self._lock:
                self._fetching = False
                self._failures += 1
                self._last_error = exc
            if not self._keys:
                raise
            return
        with self._lock:
            self._fetching = False
            self._keys, self._fetched_at = keys, now
            self._failures, self._last_error = 0, None

    def _unavailable(self, busy: bool) -> UpstreamError:
        if busy:
            return UpstreamError(
                f"the {self.name} key set {self.url} is being fetched and no keys are cached",
                hint="retry in a moment",
            )
        why = f" ({self._last_error.message})" if self._last_error is not None else ""
        return UpstreamError(
            f"the {self.name} key set {self.url} is unavailable and no keys are cached{why}",
            hint="check the key server; the next attempt waits for the refetch interval",
        )

    def _fetch(self) -> dict[str, PyJWK]:
        self.fetches += 1
        try:
            response = self._http.get(self.url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the {self.name} key set {self.url} is unreachable: {type(exc).__name__}",
                hint="check the network and the key set URL",
            ) from None
        if response.status_code != 200:
            raise UpstreamError(
                f"the {self.name} key set {self.url} answered HTTP {response.status_code}",
                hint="check the key set URL, or retry later",
            )
        return _parse_key_set(response, self.name)


def _parse_key_set(response: httpx.Response, name: str) -> dict[str, PyJWK]:
    try:
        document: Any = response.json()
    except ValueError:
        document = None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise UpstreamError(f"the {name} key set is not a JWKS document (no `keys` list)")
    keys: dict[str, PyJWK] = {}
    for entry in entries:
        parsed = _parse_key(entry)
        if parsed is not None:
            keys[entry["kid"]] = parsed
    if not keys:
        raise UpstreamError(f"the {name} key set holds no usable signing key")
    return keys


def _parse_key(entry: Any) -> PyJWK | None:
    """A signing key with a kid, or None for entries we must not or cannot use."""
    if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
        return None
    if entry.get("kty") not in ACCEPTED_KEY_TYPES or entry.get("use", "sig") != "sig":
        return None
    try:
        return PyJWK(entry)
    except (PyJWTError, ValueError, TypeError, KeyError):
        return None
