"""Outbound traffic goes only where it should: no redirects for API calls, https for every
remote endpoint but loopback ones, result downloads that the provider cannot steer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from liveai.errors import ProviderError
from liveai.generation.runtime import http_client
from liveai.providers.download import Resolver, ResultDownloader, ResultOrigin, system_resolve
from liveai.providers.kling import KlingAuth, KlingProvider
from liveai.settings import load_settings
from tests.fakes.kling import FakeKling
from tests.providers.helpers import quick_policy, video_request


def test_an_api_call_answered_with_a_307_does_not_re_post_the_photo() -> None:
    policy, _ = quick_policy(retries=0)
    with FakeKling(api_keys={"k"}) as api, FakeKling(api_keys={"k"}) as elsewhere:
        api.redirect_to = elsewhere.url
        api.inject("redirect", "submit")
        with http_client(load_settings()) as client:
            auth = KlingAuth(access_key=None, secret_key=None, api_key="k")
            provider = KlingProvider(client, auth=auth, base_url=api.url, policy=policy)
            with pytest.raises(ProviderError, match="redirect"):
                provider.submit(video_request())
        assert elsewhere.requests == []


def _endpoints(url: str) -> list[object]:
    """Build every remote endpoint that takes a configurable URL, pointed at ``url``."""
    import httpx
    from cryptography.hazmat.primitives.asymmetric import ec

    from liveai.clock import SYSTEM_CLOCK
    from liveai.providers.ark import ArkProvider
    from liveai.purchases.receipts import VerifyReceiptClient
    from liveai.purchases.server_api import ServerApiClient
    from liveai.push.client import ApnsClient

    http = httpx.Client()
    key = ec.generate_private_key(ec.SECP256R1())
    return [
        lambda: ArkProvider(http, api_key="a", base_url=url),
        lambda: VerifyReceiptClient(http, production_url=url, sandbox_url=url),
        lambda: ServerApiClient(
            http,
            base_url=url,
            key_id="K",
            issuer_id="I",
            private_key=key,
            bundle_id="b",
            clock=SYSTEM_CLOCK,
        ),
        lambda: ApnsClient(httpx.AsyncClient(), signer=None, topic="t", base_url=url),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("index", range(4), ids=["provider", "receipts", "server_api", "apns"])
def test_plain_http_is_refused_for_remote_endpoints_except_loopback(index: int) -> None:
    from liveai.errors import ConfigError

    with pytest.raises(ConfigError, match="must be an https URL"):
        _endpoints("http://api.example.com")[index]()  # type: ignore[operator]
    assert _endpoints("http://127.0.0.1:9")[index]() is not None  # type: ignore[operator]
    assert _endpoints("https://api.example.com")[index]() is not None  # type: ignore[operator]


# --- result downloads ---------------------------------------------------------------

MB = 1_000_000


def _origin(base_url: str, *hosts: str) -> ResultOrigin:
    return ResultOrigin("p", base_url, hosts)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as each:
        yield each


def _downloader(
    client: httpx.Client, max_bytes: int = 50 * MB, resolve: Resolver | None = None
) -> ResultDownloader:
    return ResultDownloader(client, max_bytes=max_bytes, resolve=resolve or system_resolve)


def _refused(downloader: ResultDownloader, url: str, origin: ResultOrigin, match: str) -> None:
    fetching = downloader.fetch(url, origin)
    with pytest.raises(ProviderError, match=match) as caught, fetching:
        pass
    assert caught.value.code == "download_refused" and not caught.value.retryable


def test_a_result_streams_to_a_file_without_holding_the_body_in_memory(
    client: httpx.Client,
) -> None:
    import tracemalloc

    from tests.fakes.result_host import Served, result_host

    with result_host() as host:
        host.replies["/v.mp4"] = Served(size=40 * MB)
        downloader = _downloader(client)
        tracemalloc.start()
        try:
            with downloader.fetch(f"{host.url}/v.mp4", _origin(host.url)) as video:
                assert video.seek(0, 2) == 40 * MB
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 4 * MB


def test_a_redirect_is_followed_on_the_same_host_but_not_to_another(client: httpx.Client) -> None:
    from tests.fakes.result_host import Served, result_host

    with result_host() as host, result_host() as other:
        port = other.url.rsplit(":", 1)[1]
        host.replies["/same"] = Served(status=302, headers={"Location": "/v.mp4"})
        host.replies["/v.mp4"] = Served(body=b"mp4 bytes")
        host.replies["/away"] = Served(status=302, headers={"Location": f"{other.url}/v"})
        host.replies["/named"] = Served(
            status=307, headers={"Location": f"http://localhost:{port}/v"}
        )
        host.replies["/metadata"] = Served(
            status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        )
        downloader, origin = _downloader(client), _origin(host.url)
        with downloader.fetch(f"{host.url}/same", origin) as video:
            assert video.read() == b"mp4 bytes"
        other_origin = _origin("http://127.0.0.2:1")
        _refused(downloader, f"{other.url}/v", other_origin, "not a host")
        for path in ("/away", "/named", "/metadata"):
            _refused(downloader, f"{host.url}{path}", origin, "not a host")
        assert other.seen == []


@pytest.mark.parametrize(
    "address", ["10.0.0.7", "192.168.1.2", "169.254.169.254", "127.0.0.1", "::1", "::ffff:10.1.1.1"]
)
def test_an_allowed_host_that_resolves_to_a_private_address_is_refused(
    client: httpx.Client, address: str
) -> None:
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return [address]

    origin = _origin("https://api-beijing.klingai.com", "klingai.com")
    _refused(
        _downloader(client, resolve=resolve), "https://cdn.klingai.com/v.mp4", origin, "address"
    )
    assert resolved == ["cdn.klingai.com"]


def test_only_https_from_listed_hosts_unless_the_provider_itself_is_on_loopback(
    client: httpx.Client,
) -> None:
    origin = _origin("https://api-beijing.klingai.com", "klingai.com")
    downloader = _downloader(client, resolve=lambda host, port: ["203.0.113.9"])
    _refused(downloader, "http://cdn.klingai.com:443/v.mp4", origin, "not https")
    _refused(downloader, "http://cdn.klingai.com/v.mp4", origin, "not a host")
    _refused(downloader, "https://cdn.klingai.com:8443/v.mp4", origin, "not a host")
    _refused(downloader, "https://klingai.com.evil.example/v.mp4", origin, "not a host")
    _refused(downloader, "https://evilklingai.com/v.mp4", origin, "not a host")
    _refused(downloader, "file:///etc/passwd", origin, "not a host")


def test_an_oversized_result_is_refused_whether_announced_or_not(client: httpx.Client) -> None:
    from tests.fakes.result_host import Served, result_host

    with result_host() as host:
        host.replies["/big.mp4"] = Served(size=5000)
        host.replies["/chunked.mp4"] = Served(size=5000, chunked=True)
        downloader, origin = _downloader(client, max_bytes=4096), _origin(host.url)
        _refused(downloader, f"{host.url}/big.mp4", origin, "larger than 4096 bytes")
        _refused(downloader, f"{host.url}/chunked.mp4", origin, "larger than 4096 bytes")


def test_a_result_that_is_not_a_video_type_is_refused(client: httpx.Client) -> None:
    from tests.fakes.result_host import Served, result_host

    with result_host() as host:
        host.replies["/page"] = Served(body=b"<html>", content_type="text/html; charset=utf-8")
        _refused(
            _downloader(client), f"{host.url}/page", _origin(host.url), "content type text/html"
        )


def test_a_pinned_https_download_still_checks_the_certificate_for_the_host_name(
    tmp_path: Path,
) -> None:
    import datetime
    import http.server
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from liveai.providers.download import ResultDownloader, ResultOrigin

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = self.headers["Host"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        trusted = ssl.create_default_context(cafile=str(cert_file))
        with httpx.Client(verify=trusted) as client:
            downloader = ResultDownloader(client, max_bytes=1000)
            named = ResultOrigin("p", f"https://localhost:{port}", ())
            with downloader.fetch(f"https://localhost:{port}/v.mp4", named) as video:
                assert video.read() == f"localhost:{port}".encode()
            by_address = ResultOrigin("p", f"https://127.0.0.1:{port}", ())
            with (
                pytest.raises(ProviderError, match="download failed"),
                downloader.fetch(f"https://127.0.0.1:{port}/v.mp4", by_address),
            ):
                pass
    finally:
        server.shutdown()
        server.server_close()


def test_doctor_reports_a_plain_http_apns_url(tmp_path: Path) -> None:
    from liveai.push import apns_status
    from liveai.settings import Settings

    settings = Settings(
        apns_key_id="K",
        apns_team_id="T",
        apple_bundle_id="b",
        apns_key_file=tmp_path / "AuthKey.p8",
        apns_base_url="http://api.push.example",
    )
    ok, detail = apns_status(settings)
    assert not ok and "LIVEAI_APNS_BASE_URL" in detail and "must be an https URL" in detail


def test_doctor_reports_a_plain_http_app_store_url() -> None:
    from liveai.purchases.health import app_store_status

    settings = load_settings(
        apple_bundle_id="app.live",
        apple_products={"p": 10},
        apple_verify_receipt_url="http://buy.itunes.example/verifyReceipt",
    )
    ok, detail = app_store_status(settings)
    assert not ok and "LIVEAI_APPLE_VERIFY_RECEIPT_URL" in detail and "https" in detail
