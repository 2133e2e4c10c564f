"""A loopback file host for result downloads: each path answers a scripted reply (a body of
N bytes streamed in chunks, a content type, a redirect), and every request is recorded."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

CHUNK = b"\x00" * 65536


@dataclass
class Served:
    status: int = 200
    size: int = 0
    body: bytes | None = None  # served as is when set, else `size` zero bytes
    chunked: bool = False  # no Content-Length: the size shows only as the body arrives
    content_type: str = "video/mp4"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ResultHost:
    url: str
    replies: dict[str, Served]
    seen: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        reply = self.server.replies.get(self.path, Served(status=404, body=b"no such file"))
        size = len(reply.body) if reply.body is not None else reply.size
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self._body(reply, size)

    def _body(self, reply: Served, size: int) -> None:
        if reply.body is not None:
            self.wfile.write(reply.body)
            return
        while size > 0:
            piece = CHUNK[: min(size, len(CHUNK))]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if reply.chunked else piece)
            size -= len(piece)
        if reply.chunked:
            self.wfile.write(b"0\r\n\r\n")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: dict[str, Served] = {}
        self.seen: list[str] = []


@contextmanager
def result_host() -> Iterator[ResultHost]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ResultHost(
            f"http://127.0.0.1:{server.server_address[1]}", server.replies, server.seen
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
