"""What every remote provider shares: one JSON-over-HTTP call with retries and a concurrency cap.

A provider module supplies how to authenticate and how to turn an error response into a
typed ProviderError; this module does the sending, the backoff with jitter on transient
failures (honouring Retry-After), and turns timeouts and malformed bodies into
ProviderUnavailable so the lifecycle can fail over.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from liveai.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from liveai.identity.jwks import require_https
from liveai.privacy.inventory_types import Region
from liveai.providers.base import Paced, Provider
from liveai.providers.download import ResultOrigin


class RemoteProvider(Provider, Paced, Protocol):
    """A Provider with what remote ones add: a polling pace and a cheap health check."""

    def check(self) -> str:
        """One cheap authenticated call; a ProviderError when it fails."""
        ...

    def result_origin(self) -> ResultOrigin:
        """Where its result URLs may point."""
        ...


ErrorMapper = Callable[[httpx.Response, Any], ProviderError]
Json = dict[str, Any]


@dataclass(frozen=True)
class CallPolicy:
    """How one provider is called: a timeout per call, at most max_concurrency calls at once,
    and retries with exponential backoff and jitter (base, 2*base, 4*base ... capped, each
    scaled by 0.5-1)."""

    retries: int = 3
    base_s: float = 1.0
    max_s: float = 30.0
    timeout_s: float = 30.0
    max_concurrency: int = 4
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff = min(self.max_s, self.base_s * 2.0**attempt) * (0.5 + self.rand() / 2)
        if retry_after is not None:
            backoff = max(backoff, min(retry_after, self.max_s))
        return backoff


DEFAULT_POLICY = CallPolicy()


def parse_json(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is not JSON (callers treat that as malformed)."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def region_of(base_url: str, overseas_hosts: tuple[str, ...], default: Region) -> Region:
    """A provider's region from its base URL: known overseas hosts, else the provider default."""
    host = urlsplit(base_url).hostname or ""
    if any(host == h or host.endswith("." + h) for h in overseas_hosts):
        return "overseas"
    return default


class Transport:
    """One provider's HTTP: base URL, auth headers, error mapping, retries, concurrency cap."""

    def __init__(
        self,
        provider: str,
        client: httpx.Client,
        base_url: str,
        *,
        auth: Callable[[], Mapping[str, str]],
        map_error: ErrorMapper,
        policy: CallPolicy = DEFAULT_POLICY,
    ) -> None:
        self.provider = provider
        self.client = client
        self.base_url = require_https(base_url, what=f"{provider} base URL").rstrip("/")
        self.auth = auth
        self.map_error = map_error
        self.policy = policy
        self._slots = threading.BoundedSemaphore(policy.max_concurrency)

    def url(self, path_or_url: str) -> str:
        if not path_or_url.startswith(("http://", "https://")):
            return f"{self.base_url}/{path_or_url.lstrip('/')}"
        if not same_origin(path_or_url, self.base_url):
            # Never send our key to a host we were not configured for.
            raise ProviderUnavailable(
                f"the API returned a URL outside {self.base_url}",
                provider=self.provider,
                code="foreign_url",
            )
        return path_or_url

    def call(
        self,
        method: str,
        path_or_url: str,
        *,
        json_body: Json | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Json:
        """Send one request; retry transient failures; return the JSON object it answered."""
        url = self.url(path_or_url)
        for attempt in range(self.policy.retries + 1):
            response: httpx.Response | None = None
            try:
                response = self._send(method, url, json_body, params, headers)
                return self._decode(response)
            except ProviderError as exc:
                last_try = attempt >= self.policy.retries
                # A create that timed out may have landed: a blind retry could start it twice.
                if last_try or not exc.retryable or (not idempotent and exc.code == "timeout"):
                    raise
                wait = retry_after(response) if response is not None else None
                self.policy.sleep(self.policy.delay(attempt, wait))
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        url: str,
        json_body: Json | None,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        sent = {**self.auth(), **(headers or {})}
        with self._slots:
            try:
                return self.client.request(
                    method,
                    url,
                    json=json_body,
                    params=params,
                    headers=sent,
                    timeout=self.policy.timeout_s,
                    follow_redirects=False,
                )
            except httpx.TimeoutException:
                raise self._unavailable("timed out", "timeout") from None
            except httpx.TransportError as exc:
                raise self._unavailable(f"unreachable ({type(exc).__name__})", "connect") from None

    def _decode(self, response: httpx.Response) -> Json:
        if response.is_redirect:
            # Following it would re-send the request body (the user's photo) elsewhere.
            raise ProviderError(
                f"answered HTTP {response.status_code}, a redirect, which is not followed",
                provider=self.provider,
                code="redirect",
                hint="check the provider's base URL setting",
            )
        if response.status_code < 400 and not response.content:
            return {}  # e.g. a DELETE that answers 200 with no body
        body = parse_json(response)
        if response.status_code >= 400:
            raise self.map_error(response, body)
        if not isinstance(body, dict):
            raise self._unavailable(
                f"answered HTTP {response.status_code} without JSON", "malformed"
            )
        return body

    def _unavailable(self, message: str, code: str) -> ProviderUnavailable:
        return ProviderUnavailable(
            message, provider=self.provider, code=code, hint="retried later or by another provider"
        )


def dig(body: Json, *path: str | int, provider: str) -> Any:
    """body[path[0]][path[1]]...; a missing step means the API answered something unexpected."""
    node: Any = body
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(p) for p in path)
            raise ProviderUnavailable(
                f"answer without {where}", provider=provider, code="malformed"
            ) from None
    return node


def generic_error(
    provider: str, response: httpx.Response, code: str | None, message: str
) -> ProviderError:
    """The fallback mapping by HTTP status when a provider's own codes say nothing more."""
    status = response.status_code
    text = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    if status in (401, 403):
        return ProviderAuthError(text, provider=provider, code=code, hint="check its credentials")
    if status == 429:
        return ProviderRateLimited(text, provider=provider, code=code)
    if status >= 500 or status in (408, 409):
        return ProviderUnavailable(text, provider=provider, code=code)
    return ProviderError(text, provider=provider, code=code)
