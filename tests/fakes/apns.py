"""A loopback APNs provider API: HTTP/2 over TLS, speaking Apple's documented wire format.

It checks what Apple checks (the provider JWT: ES256, kid, iss, iat age; the apns-*
headers; the payload) and answers each documented error. Faults are injected per device
token (`script`) or for every request (`always`); `expire_provider_tokens` turns every JWT
seen so far into an `ExpiredProviderToken`; `hold` keeps responses back until that many
requests are in flight, which proves the client multiplexes them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PUSH_TYPES = {"alert", "background", "voip", "complication", "fileprovider", "mdm", "liveactivity"}
MAX_PAYLOAD = 4096
HOLD_TIMEOUT = 5.0


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tls_files(folder: Path) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("liveai test CA"))
        .issuer_name(_name("liveai test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def make_signing_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """A P-256 key written as Apple's .p8 files are: unencrypted PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


@dataclass(frozen=True)
class Fault:
    """One scripted answer: a status and reason, or a raw body; optionally late."""

    status: int
    reason: str | None = None
    body: bytes | None = None
    delay: float = 0.0
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Received:
    token: str
    headers: dict[str, str]
    payload: dict[str, Any] | None
    jwt: str | None
    status: int
    reason: str | None
    connection: int

    @property
    def json(self) -> dict[str, Any]:
        """The payload of a request whose body was a JSON object."""
        assert self.payload is not None, "the body was not a JSON object"
        return self.payload


@dataclass
class _Answer:
    stream_id: int
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    due: float


class _Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class _Stream:
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


class FakeApns:
    def __init__(
        self,
        tls: TlsFiles,
        *,
        public_key: ec.EllipticCurvePublicKey,
        key_id: str,
        team_id: str,
        topic: str,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.public_key = public_key
        self.key_id = key_id
        self.team_id = team_id
        self.topic = topic
        self.now = now
        self.faults: dict[str, deque[Fault]] = {}
        self.always: Fault | None = None
        self.hold = 0
        self.received: list[Received] = []
        self.connections = 0
        self.max_in_flight = 0
        self.hold_timed_out = False
        self._expired: set[str] = set()
        self._seen: set[str] = set()
        self._last: dict[int, tuple[str, int]] = {}  # per connection, as Apple counts
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.load_cert_chain(tls.cert_file, tls.key_file)
        self._ssl.set_alpn_protocols(["h2"])
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # --- fault injection ---

    def script(self, token: str, *faults: Fault) -> None:
        """Answer the next requests for this device token with these faults, in order."""
        self.faults.setdefault(token, deque()).extend(faults)

    def expire_provider_tokens(self) -> None:
        """Every provider JWT seen so far now gets 403 ExpiredProviderToken."""
        with self._lock:
            self._expired |= self._seen

    def delivered(self) -> list[Received]:
        return [r for r in self.received if r.status == 200]

    # --- lifecycle ---

    def start(self) -> FakeApns:
        self._spawn(self._accept_loop)
        return self

    def close(self) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> FakeApns:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            self._spawn(self._serve, sock, number)

    # --- one HTTP/2 connection ---

    def _serve(self, raw: socket.socket, number: int) -> None:
        raw.settimeout(5)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self._ssl.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with tls, suppress(OSError, ssl.SSLError, h2.exceptions.ProtocolError):
            self._h2_loop(tls, number)

    def _h2_loop(self, tls: ssl.SSLSocket, number: int) -> None:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        tls.settimeout(0.02)
        streams: dict[int, _Stream] = {}
        waiting: list[_Answer] = []
        while not self._stop.is_set():
            try:
                data = tls.recv(65536)
                if not data:
                    return
                for event in conn.receive_data(data):
                    self._on_event(conn, event, streams, waiting, number)
            except TimeoutError:
                pass
            self._flush(conn, waiting)
            outgoing = conn.data_to_send()
            if outgoing:
                tls.sendall(outgoing)
        conn.close_connection()
        tls.sendall(conn.data_to_send())

    def _on_event(
        self,
        conn: h2.connection.H2Connection,
        event: h2.events.Event,
        streams: dict[int, _Stream],
        waiting: list[_Answer],
        number: int,
    ) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = {str(k): str(v) for k, v in event.headers or []}
            streams[event.stream_id or 0] = _Stream(headers=headers)
        elif isinstance(event, h2.events.DataReceived):
            stream_id = event.stream_id or 0
            streams[stream_id].body.extend(event.data or b"")
            conn.acknowledge_received_data(event.flow_controlled_length or 0, stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            stream_id = event.stream_id or 0
            waiting.append(self._answer(stream_id, streams.pop(stream_id), number))
            with self._lock:
                self.max_in_flight = max(self.max_in_flight, len(waiting))
        elif isinstance(event, h2.events.StreamReset):
            waiting[:] = [a for a in waiting if a.stream_id != event.stream_id]

    def _flush(self, conn: h2.connection.H2Connection, waiting: list[_Answer]) -> None:
        if not waiting:
            return
        now = time.monotonic()
        if self.hold and len(waiting) < self.hold:
            if now - min(a.due for a in waiting) < HOLD_TIMEOUT:
                return
            self.hold_timed_out = True
        ready = [a for a in waiting if a.due <= now or self.hold]
        self.hold = 0  # one-shot: later requests (retries) are answered at once
        for answer in ready:
            waiting.remove(answer)
            try:
                conn.send_headers(answer.stream_id, answer.headers, end_stream=not answer.body)
                if answer.body:
                    conn.send_data(answer.stream_id, answer.body, end_stream=True)
            except h2.exceptions.StreamClosedError:
                pass

    # --- what Apple checks ---

    def _answer(self, stream_id: int, stream: _Stream, number: int) -> _Answer:
        headers = stream.headers
        token = headers.get(":path", "").removeprefix("/3/device/")
        payload = _json_object(bytes(stream.body))
        bearer = headers.get("authorization", "").removeprefix("bearer ") or None
        fault: Fault | None = None
        try:
            self._check(headers, bytes(stream.body), payload, number)
            fault = self._fault_for(token)
        except _Rejected as rejected:
            fault = Fault(rejected.status, rejected.reason)
        if fault and fault.reason == "ExpiredProviderToken" and bearer:
            with self._lock:
                self._expired.add(bearer)
        status = fault.status if fault else 200
        reason = fault.reason if fault else None
        with self._lock:
            self.received.append(Received(token, headers, payload, bearer, status, reason, number))
        apns_id = headers.get("apns-id") or str(uuid.uuid4())
        body = b""
        if fault is not None:
            body = fault.body if fault.body is not None else _error_body(fault)
        response = [(":status", str(status)), ("apns-id", apns_id)]
        if body:
            response.append(("content-type", "application/json"))
        delay = fault.delay if fault else 0.0
        return _Answer(stream_id, status, response, body, time.monotonic() + delay)

    def _fault_for(self, token: str) -> Fault | None:
        with self._lock:
            queued = self.faults.get(token)
            if queued:
                return queued.popleft()
        return self.always

    def _check(
        self, headers: dict[str, str], body: bytes, payload: dict[str, Any] | None, number: int
    ) -> None:
        if headers.get(":method") != "POST":
            raise _Rejected(405, "MethodNotAllowed")
        path = headers.get(":path", "")
        if not path.startswith("/3/device/"):
            raise _Rejected(404, "BadPath")
        self._check_provider_token(headers.get("authorization"), number)
        self._check_headers(headers)
        if not body:
            raise _Rejected(400, "PayloadEmpty")
        if len(body) > MAX_PAYLOAD:
            raise _Rejected(413, "PayloadTooLarge")
        if payload is None or not isinstance(payload.get("aps"), dict):
            raise _Rejected(400, "BadPayload")
        token = path.removeprefix("/3/device/")
        if not token or any(c not in "0123456789abcdef" for c in token.lower()):
            raise _Rejected(400, "BadDeviceToken")

    def _check_provider_token(self, authorization: str | None, number: int) -> None:
        if not authorization or not authorization.startswith("bearer "):
            raise _Rejected(403, "MissingProviderToken")
        token = authorization.removeprefix("bearer ")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(  # iat is checked below, against this server's clock
                token, self.public_key, algorithms=["ES256"], options={"verify_iat": False}
            )
        except jwt.PyJWTError:
            raise _Rejected(403, "InvalidProviderToken") from None
        iat = claims.get("iat")
        if header.get("kid") != self.key_id or claims.get("iss") != self.team_id:
            raise _Rejected(403, "InvalidProviderToken")
        if not isinstance(iat, int) or iat > self.now() + 60:
            raise _Rejected(403, "InvalidProviderToken")
        with self._lock:
            if token in self._expired or self.now() - iat > 3600:
                raise _Rejected(403, "ExpiredProviderToken")
            self._check_update_rate(token, iat, number)
            self._seen.add(token)

    def _check_update_rate(self, token: str, iat: int, number: int) -> None:
        last = self._last.get(number)
        if last and last[0] != token:
            previous, previous_iat = last
            if previous not in self._expired and iat - previous_iat < 20 * 60:
                raise _Rejected(429, "TooManyProviderTokenUpdates")
        self._last[number] = (token, iat)

    def _check_headers(self, headers: dict[str, str]) -> None:
        topic = headers.get("apns-topic")
        if topic is None:
            raise _Rejected(400, "MissingTopic")
        if topic != self.topic:
            raise _Rejected(400, "TopicDisallowed")
        if headers.get("apns-push-type") not in PUSH_TYPES:
            raise _Rejected(400, "InvalidPushType")
        if headers.get("apns-priority", "10") not in ("10", "5", "1"):
            raise _Rejected(400, "BadPriority")
        if not headers.get("apns-expiration", "0").isdigit():
            raise _Rejected(400, "BadExpirationDate")
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            raise _Rejected(400, "BadCollapseId")
        apns_id = headers.get("apns-id")
        if apns_id is not None and not _is_lower_uuid(apns_id):
            raise _Rejected(400, "BadMessageId")


def _is_lower_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _error_body(fault: Fault) -> bytes:
    document: dict[str, Any] = {"reason": fault.reason or "InternalServerError"}
    if fault.timestamp_ms is not None:
        document["timestamp"] = fault.timestamp_ms
    return json.dumps(document).encode()


@contextmanager
def running(
    folder: Path,
    *,
    key_id: str = "ABC123DEFG",
    team_id: str = "TEAM123456",
    topic: str = "ai.live.app",
    now: Callable[[], float] = time.time,
) -> Iterator[tuple[FakeApns, TlsFiles, Path]]:
    """A started fake with fresh TLS files and a fresh .p8 key: (server, tls, key path)."""
    tls = make_tls_files(folder / "tls")
    key_path = folder / "AuthKey.p8"
    key = make_signing_key(key_path)
    server = FakeApns(
        tls, public_key=key.public_key(), key_id=key_id, team_id=team_id, topic=topic, now=now
    )
    with server:
        yield server, tls, key_path
