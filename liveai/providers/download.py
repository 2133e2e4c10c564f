"""Fetching a provider's result video, so that nothing the provider answers can steer the worker.

Each provider module declares the hosts its results come from; a download goes only to
those (and the provider's own API host), over https, to public addresses. Every redirect
is checked like the first URL, the host is resolved once and the connection made to the
address that was checked (a second lookup cannot swap in another), and the body streams
to an unnamed temporary file under a byte cap. Plain http and loopback addresses are
allowed only when the provider's base URL is itself on loopback (the tests' fakes).
"""

from __future__ import annotations

import ipaddress
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable
from urllib.parse import urljoin, urlsplit

import httpx

from liveai.errors import ProviderError, ProviderUnavailable
from liveai.identity.jwks import is_loopback

# Providers' CDNs label MP4s video/mp4; object stores without a type say octet-stream.
VIDEO_TYPES = frozenset(
    {"video/mp4", "video/quicktime", "application/octet-stream", "binary/octet-stream"}
)
MAX_REDIRECTS = 5
CHUNK_BYTES = 1 << 16

Resolver = Callable[[str, int], list[str]]


def system_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class ResultOrigin:
    """Where one provider's results may come from: its API's host and the hosts its module
    lists (each also covers its subdomains)."""

    provider: str
    base_url: str
    hosts: tuple[str, ...]

    @property
    def on_loopback(self) -> bool:
        return is_loopback(urlsplit(self.base_url).hostname)

    def allows(self, host: str, port: int) -> bool:
        """The API's own host and port, or a listed host on the https port."""
        host = host.lower().rstrip(".")
        base = urlsplit(self.base_url)
        base_port = base.port or (443 if base.scheme == "https" else 80)
        if (host, port) == ((base.hostname or "").lower(), base_port):
            return True
        listed = any(host == h or host.endswith("." + h) for h in self.hosts)
        return listed and port == 443


@runtime_checkable
class Downloadable(Protocol):
    """A provider whose results are fetched from URLs it returns."""

    def result_origin(self) -> ResultOrigin:
        """Where its result URLs may point."""
        ...


class ResultDownloader:
    """Downloads results through ``client`` (which must not follow redirects by itself)."""

    def __init__(
        self, client: httpx.Client, *, max_bytes: int, resolve: Resolver = system_resolve
    ) -> None:
        self.client = client
        self.max_bytes = max_bytes
        self.resolve = resolve

    @contextmanager
    def fetch(self, url: str, origin: ResultOrigin) -> Iterator[BinaryIO]:
        """The result at ``url`` in a temporary file, read from its start; the file has no
        name, so it is gone with the process whatever happens."""
        with tempfile.TemporaryFile() as spool:
            self._download(url, origin, spool)
            spool.seek(0)
            yield spool

    def _download(self, url: str, origin: ResultOrigin, spool: BinaryIO) -> None:
        for _ in range(MAX_REDIRECTS + 1):
            request = self._pinned_request(url, origin)
            try:
                response = self.client.send(request, stream=True, follow_redirects=False)
            except httpx.HTTPError as exc:
                raise _unavailable(origin, f"download failed: {type(exc).__name__}") from None
            try:
                if not response.is_redirect:
                    self._save(response, origin, spool)
                    return
                url = urljoin(url, response.headers.get("location", ""))
            finally:
                response.close()
        raise _refused(origin, f"more than {MAX_REDIRECTS} redirects")

    def _pinned_request(self, url: str, origin: ResultOrigin) -> httpx.Request:
        """A GET of ``url`` sent to the checked address of its host, with the host's name
        in the Host header and the TLS handshake (so the certificate is checked for it)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not origin.allows(host, port):
            where = parts.netloc.rpartition("@")[2]
            raise _refused(origin, f"{where!r} is not a host {origin.provider} results come from")
        plain_ok = origin.on_loopback and is_loopback(host)
        if parts.scheme != "https" and not (parts.scheme == "http" and plain_ok):
            raise _refused(origin, f"the result URL is not https ({parts.scheme or 'no'} scheme)")
        address = self._checked_address(host, port, origin)
        netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        return self.client.build_request(
            "GET",
            parts._replace(netloc=netloc).geturl(),
            headers={"Host": parts.netloc.rpartition("@")[2]},
            extensions={"sni_hostname": host},
        )

    def _checked_address(self, host: str, port: int, origin: ResultOrigin) -> str:
        addresses = self.resolve(host, port)
        if not addresses:
            raise _unavailable(origin, f"cannot resolve {host!r}")
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            if ip.is_loopback and origin.on_loopback:
                continue
            if not ip.is_global:
                raise _refused(origin, f"{host!r} resolves to a non-public address ({ip})")
        return addresses[0]

    def _save(self, response: httpx.Response, origin: ResultOrigin, spool: BinaryIO) -> None:
        if response.status_code != 200:
            raise _unavailable(origin, f"download answered HTTP {response.status_code}")
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in VIDEO_TYPES:
            raise _refused(origin, f"the result has content type {kind or 'none'}, not a video")
        announced = response.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > self.max_bytes:
            raise self._too_big(origin)
        written = 0
        try:
            for chunk in response.iter_bytes(CHUNK_BYTES):
                written += len(chunk)
                if written > self.max_bytes:
                    raise self._too_big(origin)
                spool.write(chunk)
        except httpx.HTTPError as exc:
            raise _unavailable(origin, f"download failed: {type(exc).__name__}") from None

    def _too_big(self, origin: ResultOrigin) -> ProviderError:
        return _refused(
            origin,
            f"the result is larger than {self.max_bytes} bytes",
            hint="raise LIVEAI_DOWNLOAD_MAX_BYTES if the provider's videos really are this big",
        )


def _refused(origin: ResultOrigin, message: str, hint: str | None = None) -> ProviderError:
    return ProviderError(
        f"result download refused: {message}",
        provider=origin.provider,
        code="download_refused",
        hint=hint or "the provider's answer pointed somewhere results must not come from",
    )


def _unavailable(origin: ResultOrigin, message: str) -> ProviderUnavailable:
    return ProviderUnavailable(message, provider=origin.provider, code="download")
