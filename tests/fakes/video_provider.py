"""A loopback video provider over real HTTP, with scripted faults at every step.

The wire format is the common shape of the real APIs (video-providers.md §0): ``POST
/v1/tasks`` → ``{"id"}``, ``GET /v1/tasks/<id>`` → ``{"status", "video_url", "error"}``,
``POST /v1/tasks/<id>/cancel``, and the video at ``GET /v1/videos/<id>.mp4``. Submits
are deduplicated on the client's ``external_task_id`` (as Kling does), so the fake can
count how many generations were really started per task.

``FakeVideoProvider`` is the client: it implements the Provider protocol on top of httpx
and maps HTTP answers to the ProviderError tree, like the real clients.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from liveai.errors import (
    ProviderAuthError,
    ProviderBalanceExhausted,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from liveai.privacy.inventory_types import Region
from liveai.providers.base import (
    ImageTransport,
    ProviderState,
    ProviderStatus,
    VideoRequest,
)
from liveai.providers.download import ResultOrigin
from liveai.providers.render import render_mp4

# Faults a step can be told to answer with, once each, in order.
FAULTS = (
    *("500", "429", "401", "402", "reject", "timeout", "malformed", "fail", "garbage"),
    "redirect",  # a 302 to `redirect_to`
)
STALL_S = 1.0  # longer than the client timeout the tests use


@dataclass
class Job:
    id: str
    external_id: str
    started: float
    polls: int = 0
    state: str = "queued"
    error: dict[str, str] | None = None


@dataclass
class FakeState:
    """What the server knows; tests read and script it."""

    video: bytes
    polls_to_finish: int = 1
    latency_s: float = 0.0
    redirect_to: str = "http://169.254.169.254/latest/meta-data/"
    jobs: dict[str, Job] = field(default_factory=dict)
    by_external: dict[str, str] = field(default_factory=dict)
    started: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, step: str, fault: str, times: int = 1) -> None:
        assert fault in FAULTS, fault
        with self.lock:
            self.faults[step].extend([fault] * times)

    def _fault(self, step: str) -> str | None:
        with self.lock:
            self.calls[step] += 1
            queue = self.faults.get(step)
            # "fail" and "garbage" are answered by the step itself (see _take).
            if queue and queue[0] not in ("fail", "garbage"):
                return queue.popleft()
            return None


def tiny_mp4() -> bytes:
    """A real, small MP4 (the local renderer's output) for the fake to serve."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (30, 120, 200)).save(buffer, format="JPEG")
    from liveai.providers.base import Motion

    return render_mp4(buffer.getvalue(), Motion.ZOOM_IN, 1, max_side=96)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as providers' servers do
    disable_nagle_algorithm = True  # headers and body go as separate writes

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data).encode())

    def _faulted(self, step: str) -> bool:
        """Answer with the next scripted fault of this step; False when there is none."""
        fault = self.server.state._fault(step)
        if fault is None:
            return False
        if fault == "timeout":
            time.sleep(STALL_S)
            self._json(503, {"code": "late"})
        elif fault == "malformed":
            self._send(200, b"{not json")
        elif fault == "redirect":
            self.send_response(302)
            self.send_header("Location", self.server.state.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif fault == "reject":
            self._json(400, {"code": "moderation", "message": "image refused by moderation"})
        else:
            self._json(int(fault), {"code": f"http_{fault}", "message": "scripted fault"})
        return True

    def _take(self, step: str, fault: str) -> bool:
        state = self.server.state
        with state.lock:
            queue = state.faults.get(step)
            if queue and queue[0] == fault:
                queue.popleft()
                return True
        return False

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        parts = self.path.strip("/").split("/")
        if parts == ["v1", "tasks"]:
            if self._faulted("submit"):
                return
            self._json(200, {"id": self._submit(body)})
        elif len(parts) == 4 and parts[3] == "cancel":
            if self._faulted("cancel"):
                return
            job = self.server.state.jobs.get(parts[2])
            if job is None:
                self._json(404, {"code": "not_found"})
                return
            job.state = "cancelled"
            self._json(200, {"id": job.id, "status": job.state})
        else:
            self._json(404, {"code": "not_found"})

    def _submit(self, body: dict[str, Any]) -> str:
        state = self.server.state
        base64.b64decode(body["image"], validate=True)
        external = body["external_task_id"]
        with state.lock:
            if external in state.by_external:
                return state.by_external[external]
            job = Job(id=f"job-{len(state.jobs) + 1}", external_id=external, started=time.time())
            state.jobs[job.id] = job
            state.by_external[external] = job.id
            state.started[external] += 1
            return job.id

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if parts == ["v1", "stats"]:
            state = self.server.state
            with state.lock:
                self._json(200, {"started": dict(state.started), "calls": dict(state.calls)})
        elif len(parts) == 3 and parts[:2] == ["v1", "tasks"]:
            self._poll(parts[2])
        elif len(parts) == 3 and parts[:2] == ["v1", "videos"]:
            if self._faulted("download"):
                return
            video = b"not a video" if self._take("download", "garbage") else self.server.state.video
            self._send(200, video, "video/mp4")
        else:
            self._json(404, {"code": "not_found"})

    def _poll(self, job_id: str) -> None:
        if self._faulted("poll"):
            return
        state = self.server.state
        job = state.jobs.get(job_id)
        if job is None:
            self._json(404, {"code": "not_found", "message": f"no task {job_id}"})
            return
        if self._take("poll", "fail"):
            job.state, job.error = "failed", {"code": "render_error", "message": "it broke"}
        with state.lock:
            job.polls += 1
            ready = job.polls >= state.polls_to_finish
            ready = ready and time.time() - job.started >= state.latency_s
            if job.state in ("queued", "running"):
                job.state = "succeeded" if ready else "running"
        host, port = self.server.server_address[:2]
        url = f"http://{host!s}:{port}/v1/videos/{job.id}.mp4" if job.state == "succeeded" else None
        self._json(200, {"id": job.id, "status": job.state, "video_url": url, "error": job.error})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512  # hundreds of clients connect at once in the benchmark

    def __init__(self, state: FakeState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@dataclass
class FakeServer:
    url: str
    state: FakeState


@contextmanager
def serve(video: bytes | None = None, **options: Any) -> Iterator[FakeServer]:
    state = FakeState(video=video if video is not None else tiny_mp4(), **options)
    server = _Server(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield FakeServer(url=f"http://{host!s}:{port}", state=state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


_STATES = {
    "queued": ProviderState.QUEUED,
    "running": ProviderState.RUNNING,
    "succeeded": ProviderState.SUCCEEDED,
    "failed": ProviderState.FAILED,
    "cancelled": ProviderState.CANCELLED,
}


class FakeVideoProvider:
    """The client for the fake: translates only, like every real provider."""

    def __init__(
        self, name: str, base_url: str, client: httpx.Client, *, region: Region = "mainland_china"
    ) -> None:
        self.name = name
        self.region: Region = region
        self.base_url = base_url
        self.client = client

    def image_transport(self, request: VideoRequest) -> ImageTransport:
        return "base64"

    def result_origin(self) -> ResultOrigin:
        return ResultOrigin(self.name, self.base_url, ())

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.client.request(method, f"{self.base_url}{path}", json=body)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{type(exc).__name__}", provider=self.name) from None
        try:
            data = response.json()
        except ValueError:
            raise ProviderUnavailable("malformed answer", provider=self.name) from None
        if response.status_code == 200:
            return data
        raise _error(self.name, response.status_code, data)

    def submit(self, request: VideoRequest) -> str:
        body = {
            "external_task_id": request.task_id,
            "image": base64.b64encode(request.image_jpeg).decode(),
            "prompt": request.prompt,
            "camera": request.motion.value,
            "duration": request.duration_s,
        }
        return str(self._call("POST", "/v1/tasks", body)["id"])

    def poll(self, provider_task_id: str) -> ProviderStatus:
        data = self._call("GET", f"/v1/tasks/{provider_task_id}")
        error = data.get("error") or {}
        return ProviderStatus(
            _STATES[data["status"]],
            provider_task_id,
            video_url=data.get("video_url"),
            error_code=error.get("code"),
            error_message=error.get("message"),
        )

    def cancel(self, provider_task_id: str) -> bool:
        self._call("POST", f"/v1/tasks/{provider_task_id}/cancel")
        return True


def _error(name: str, status: int, data: dict[str, Any]) -> ProviderError:
    code, message = data.get("code"), data.get("message", "error")
    kinds: dict[int, type[ProviderError]] = {
        401: ProviderAuthError,
        402: ProviderBalanceExhausted,
        429: ProviderRateLimited,
    }
    if status == 400 and code == "moderation":
        return ProviderRejected(message, provider=name, code=code)
    if status in kinds:
        return kinds[status](message, provider=name, code=code)
    if status >= 500:
        return ProviderUnavailable(f"HTTP {status}", provider=name, code=code)
    return ProviderError(f"HTTP {status}: {message}", provider=name, code=code)


def serve_in_process(ready: Any, stop: Any, options: dict[str, Any]) -> None:
    """Run a fake in a child process (benchmarks: the server gets its own interpreter)."""
    with serve(**options) as fake:
        ready.send(fake.url)
        stop.wait()
