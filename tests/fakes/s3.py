"""S3 over real HTTP on 127.0.0.1: moto's server mode, plus a fault-injecting proxy.

Fixtures (import them into a test module: ``from tests.fakes.s3 import boto_session, s3_env,
s3_server``, plus ``s3_faults`` if needed):

- ``s3_server``: one moto server for the test session; its endpoint URL.
- ``boto_session``: one boto3 session for the run (clients built from it are cheap).
- ``s3_env``: a fresh bucket for this test, and the ``LIVEAI_S3_*`` environment pointing
  at it (``LIVEAI_STORAGE=s3``), so ``load_settings()`` and the CLI use it unchanged.
- ``s3_faults``: a proxy in front of moto that answers the next requests with scripted
  faults (a status and S3 error code, a malformed body, a stall past the client's timeout),
  then forwards the rest to moto untouched.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer

from liveai.settings import load_settings
from liveai.storage import s3 as s3_module
from liveai.storage.s3 import S3Storage

REGION = "us-east-1"
ACCESS_KEY = "AKIAFAKELIVEAITEST00"
SECRET_KEY = "fake-secret-for-loopback-tests-only"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        server._server.server_close()  # type: ignore[union-attr]  # stop() leaves it open


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    """One boto3 session for the run: it caches the parsed S3 model, making clients cheap."""
    return boto3.session.Session()


@dataclass
class S3Env:
    endpoint: str
    bucket: str
    session: boto3.session.Session

    def storage(self) -> S3Storage:
        """An S3Storage built from the environment, exactly as production builds one."""
        return S3Storage.from_settings(load_settings(), session=self.session)


def point_env_at(monkeypatch: pytest.MonkeyPatch, endpoint: str, bucket: str) -> None:
    for name, value in {
        "LIVEAI_STORAGE": "s3",
        "LIVEAI_S3_BUCKET": bucket,
        "LIVEAI_S3_ENDPOINT_URL": endpoint,
        "LIVEAI_S3_REGION": REGION,
        "LIVEAI_S3_ADDRESSING_STYLE": "path",  # 127.0.0.1 has no bucket subdomains
        "LIVEAI_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "LIVEAI_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "LIVEAI_S3_TIMEOUT_SECONDS": "2",
        "LIVEAI_S3_MAX_ATTEMPTS": "3",
    }.items():
        monkeypatch.setenv(name, value)


def isolate_boto(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer AWS profile or instance metadata leaks into a test."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def create_bucket(session: boto3.session.Session, endpoint: str, name: str) -> None:
    client = session.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()


@pytest.fixture
def s3_env(
    s3_server: str, boto_session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> S3Env:
    bucket = f"liveai-{uuid.uuid4().hex[:16]}"
    isolate_boto(monkeypatch)
    # Code under test that builds its own storage (the CLI, doctor) reuses the parsed
    # service model too; tests run single-threaded, so sharing the session is safe.
    monkeypatch.setattr(s3_module, "new_session", lambda: boto_session)
    create_bucket(boto_session, s3_server, bucket)
    point_env_at(monkeypatch, s3_server, bucket)
    return S3Env(s3_server, bucket, boto_session)


@dataclass(frozen=True)
class Fault:
    status: int = 503
    code: str = "SlowDown"
    body: bytes | None = None  # raw body instead of an S3 error document
    stall: float = 0.0  # seconds to wait before answering (past the client's timeout)


@dataclass
class FaultProxy:
    target: str
    session: boto3.session.Session
    faults: deque[Fault] = field(default_factory=deque)
    seen: list[str] = field(default_factory=list)  # "METHOD path" of every request
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def storage(self) -> S3Storage:
        """An S3Storage from the environment, which now points at this proxy."""
        return S3Storage.from_settings(load_settings(), session=self.session)

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def next_fault(self, request_line: str) -> Fault | None:
        with self.lock:
            self.seen.append(request_line)
            return self.faults.popleft() if self.faults else None


def _error_document(code: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>injected {code}</Message><RequestId>fake</RequestId></Error>"
    ).encode()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = self.proxy.next_fault(f"{self.command} {self.path}")
        if fault is None:
            self._forward(body)
        else:
            self._fault(fault)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    def _fault(self, fault: Fault) -> None:
        if fault.stall:
            self.proxy.stop.wait(fault.stall)
        payload = fault.body if fault.body is not None else _error_document(fault.code)
        self.send_response(fault.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _forward(self, body: bytes) -> None:
        target = urlsplit(self.proxy.target)
        conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            answer = conn.getresponse()
            payload = answer.read()
        finally:
            conn.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", answer.getheader("Content-Length") or str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


@pytest.fixture
def s3_faults(s3_env: S3Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """Like s3_env, but every request goes through a proxy that injects faults first."""
    proxy = FaultProxy(s3_env.endpoint, s3_env.session)
    handler = type("Handler", (_ProxyHandler,), {"proxy": proxy})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    monkeypatch.setenv("LIVEAI_S3_ENDPOINT_URL", f"http://{host!s}:{port}")
    try:
        yield proxy
    finally:
        proxy.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()
