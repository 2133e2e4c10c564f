"""What the Logto and Apple ID fakes share: a threaded HTTP server on 127.0.0.1 with a
JWKS of test-generated keys, recorded requests, and faults injected per route.

`fail(route, kind, times=1)` queues a fault for the next requests to `route`; kinds:
an HTTP status (e.g. 503, 429: an error body), "malformed" (200 with a body that is
not JSON), "hang" (no answer until the client gives up), "drop" (the connection closes
without an answer).
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

HANG_S = 5.0


@dataclass
class Reply:
    status: int
    body: Any = None  # dict -> JSON, bytes -> raw, None -> empty
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    raw: bytes


Route = Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup of the host; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


class IdentityServer:
    """Subclasses register routes as (method, path prefix) -> (name, handler)."""

    def __init__(self) -> None:
        self.jwks: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self._faults: dict[str, deque[int | str]] = defaultdict(deque)
        self._routes: list[tuple[str, str, str, Route]] = []
        self._release = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, prefix: str, name: str, handler: Route) -> None:
        self._routes.append((method, prefix, name, handler))

    def fail(self, route: str, kind: int | str, *, times: int = 1) -> None:
        self._faults[route].extend([kind] * times)

    def hits(self, name_or_path: str) -> int:
        return sum(1 for r in self.requests if r.path.startswith(name_or_path))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _dispatch(self, request: Request) -> Reply | str:
        for method, prefix, name, handler in self._routes:
            if request.method == method and request.path.startswith(prefix):
                if self._faults[name]:
                    return self._fault(self._faults[name].popleft())
                return handler(request)
        return Reply(404, {"error": "not_found"})

    def _fault(self, kind: int | str) -> Reply | str:
        if isinstance(kind, int):
            return Reply(kind, {"error": "server_error", "code": "fault"})
        if kind == "malformed":
            return Reply(200, b"<html>not json")
        if kind == "hang":
            self._release.wait(HANG_S)
            return "drop"
        return "drop"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                form = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
                request = Request(
                    self.command, urlsplit(self.path).path, dict(self.headers), form, raw
                )
                server.requests.append(request)
                reply = server._dispatch(request)
                if isinstance(reply, str):
                    self.close_connection = True
                    return
                self._write(reply)

            def _write(self, reply: Reply) -> None:
                if isinstance(reply.body, bytes):
                    payload = reply.body
                elif reply.body is None:
                    payload = b""
                else:
                    payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _serve

        return Handler

    def jwks_reply(self, _request: Request) -> Reply:
        return Reply(200, {"keys": list(self.jwks)})
