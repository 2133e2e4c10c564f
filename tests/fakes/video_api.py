"""What the four loopback video-provider fakes share: a threaded HTTP server on 127.0.0.1,
tasks that step through their lifecycle one poll at a time, a real MP4 at the result URL,
recorded requests, and faults injected on demand.

Faults are queued with `inject(kind, route=...)` and consumed by the next request to that
route ("submit", "poll", "cancel", "list", "result", or "*"). Kinds every fake answers:
`500`, `503`, `timeout` (the answer comes after the client gave up), `malformed` (200 with a
body that is no JSON), `redirect` (a 307 to the same path under `redirect_to`), `rate_limit`,
`auth`, `balance`, `moderation` (a synchronous rejection), and, on "submit" only,
`moderation_later` (the task fails with the provider's moderation code) and `lost` (the task
vanishes: polls answer "unknown"). A prompt containing TRIGGER_WORD is rejected by moderation
without any injection.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

TRIGGER_WORD = "forbidden-scene"
TIMEOUT_HOLD_S = 5.0  # longer than any client timeout in the tests; shutdown ends it


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list -> JSON; bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass
class FakeTask:
    id: str
    steps: list[str]  # the statuses successive polls report; the last one repeats
    outcome: str = "succeeded"  # succeeded | failed | moderation | lost
    polls: int = 0
    cancelled: bool = False
    input: Any = None

    def advance(self) -> str:
        status = self.steps[min(self.polls, len(self.steps) - 1)]
        self.polls += 1
        return status


_MP4: bytes | None = None


def tiny_mp4() -> bytes:
    """A real, decodable H.264 MP4 (eight 64x64 frames), made once per test run."""
    global _MP4
    if _MP4 is None:
        import av
        from PIL import Image

        buffer = io.BytesIO()
        with av.open(buffer, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=8)
            stream.width = stream.height = 64
            stream.pix_fmt = "yuv420p"
            for i in range(8):
                image = Image.new("RGB", (64, 64), (i * 30, 80, 160))
                container.mux(stream.encode(av.VideoFrame.from_image(image)))  # type: ignore[no-untyped-call]
            container.mux(stream.encode(None))
        _MP4 = buffer.getvalue()
    return _MP4


class FakeVideoApi:
    """Subclasses implement `route(request) -> (route_name, handler)` and the replies."""

    polls_to_finish = 2  # polls that report queued/running before the terminal status

    def __init__(self) -> None:
        self.tasks: dict[str, FakeTask] = {}
        self.requests: list[Request] = []
        self.faults: deque[tuple[str, str]] = deque()
        self.lock = threading.Lock()
        self.delay_s = 0.0  # hold every answer this long (to observe concurrency)
        self.redirect_to = "http://127.0.0.1:9"  # where a `redirect` fault points
        self.in_flight = self.max_in_flight = 0
        self._stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_GET(self) -> None:
                fake._serve(self)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Self:
        tiny_mp4()  # encode it now, not inside the first download's timeout
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    # --- test controls ---

    def inject(self, kind: str, route: str = "*", times: int = 1) -> None:
        for _ in range(times):
            self.faults.append((route, kind))

    def requests_to(self, route_prefix: str, method: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.path.startswith(route_prefix) and (method is None or r.method == method)
        ]

    # --- subclass API ---

    def route(self, request: Request) -> tuple[str, Any]:
        raise NotImplementedError

    def fault_reply(self, kind: str, route: str) -> Reply:
        raise NotImplementedError

    def new_task(self, task_id: str, request: Request) -> FakeTask:
        """A task whose outcome is the next queued task-level fault, else success."""
        task = FakeTask(task_id, self.lifecycle(), input=request.body)
        task.outcome = self._task_outcome("succeeded")
        self.tasks[task_id] = task
        return task

    def lifecycle(self) -> list[str]:
        raise NotImplementedError

    def _task_outcome(self, default: str) -> str:
        with self.lock:
            for i, (route, kind) in enumerate(self.faults):
                if route in ("submit", "*") and kind in ("moderation_later", "lost", "failed"):
                    del self.faults[i]
                    return {"moderation_later": "moderation"}.get(kind, kind)
        return default

    def _take_fault(self, route: str) -> str | None:
        with self.lock:
            for i, (wanted, kind) in enumerate(self.faults):
                if kind in ("moderation_later", "lost", "failed"):
                    continue
                if wanted in (route, "*"):
                    del self.faults[i]
                    return kind
        return None

    def video_url(self, task_id: str) -> str:
        return f"{self.url}/files/{task_id}.mp4"

    # --- serving ---

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            request = self._read(handler)
            self.requests.append(request)
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                self._stop.wait(self.delay_s)
                reply = self._dispatch(request)
            finally:
                with self.lock:
                    self.in_flight -= 1
            self._write(handler, reply)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _read(self, handler: BaseHTTPRequestHandler) -> Request:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw
        parts = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        return Request(handler.command, parts.path, parse_qs(parts.query), headers, body, raw)

    def _dispatch(self, request: Request) -> Reply:
        if request.path.startswith("/files/") and request.method == "GET":
            return Reply(200, tiny_mp4(), content_type="video/mp4")
        name, handler = self.route(request)
        if handler is None:
            return self.not_found(request)
        kind = self._take_fault(name)
        if kind == "timeout":
            self._stop.wait(TIMEOUT_HOLD_S)
            return Reply(504, {"detail": "late"})
        if kind == "late":  # done, but the answer comes after the client gave up: ambiguous
            done: Reply = handler(request)
            self._stop.wait(TIMEOUT_HOLD_S)
            return done
        if kind == "malformed":
            return Reply(200, b"{not json", content_type="application/json")
        if kind == "redirect":
            return Reply(307, None, headers={"Location": self.redirect_to + request.path})
        if kind is not None:
            return self.fault_reply(kind, name)
        reply: Reply = handler(request)
        return reply

    def not_found(self, request: Request) -> Reply:
        return Reply(404, {"message": f"no route {request.method} {request.path}"})

    def _write(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if isinstance(reply.body, bytes):
            data = reply.body
        elif reply.body is None:
            data = b""
        else:
            data = json.dumps(reply.body).encode()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)


def new_id() -> str:
    return str(uuid.uuid4())
