"""A loopback fal.ai queue API: submit, status, result, cancel; URLs rooted at owner/app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.video_api import TRIGGER_WORD, FakeTask, FakeVideoApi, Reply, Request, new_id

APPS = {"fal-ai/kling-video", "fal-ai/bytedance", "fal-ai/wan-pro"}
POLICY = {
    "loc": ["body"],
    "msg": "The content was flagged by a content checker.",
    "type": "content_policy_violation",
    "url": "https://docs.fal.ai/errors#content_policy_violation",
}
FAULTS: dict[str, tuple[int, Any, dict[str, str]]] = {
    "500": (500, {"detail": "Internal Server Error"}, {"X-Fal-Retryable": "true"}),
    "503": (503, {"detail": "Service Unavailable"}, {"X-Fal-Error-Type": "runner_disconnected"}),
    "rate_limit": (429, {"detail": "Too many requests"}, {"Retry-After": "3"}),
    "auth": (401, {"detail": "Authentication is required to perform this action"}, {}),
    "balance": (
        403,
        {"detail": "User is locked. Reason: Exhausted balance. Top up your balance."},
        {},
    ),
    "moderation": (422, {"detail": [POLICY]}, {"X-Fal-Retryable": "false"}),
}


def _missing(field: str, kind: str = "missing", msg: str = "field required") -> Reply:
    return Reply(422, {"detail": [{"loc": ["body", field], "msg": msg, "type": kind}]})


class FakeFal(FakeVideoApi):
    def __init__(self, *, keys: set[str]) -> None:
        super().__init__()
        self.keys = keys
        self.apps: dict[str, str] = {}  # request id -> owner/app

    def lifecycle(self) -> list[str]:
        return ["IN_QUEUE"] + ["IN_PROGRESS"] * (self.polls_to_finish - 1) + ["COMPLETED"]

    def route(self, request: Request) -> tuple[str, Any]:
        parts = request.path.strip("/").split("/")
        if "requests" not in parts:
            if request.method == "POST" and "/".join(parts[:2]) in APPS and len(parts) > 2:
                return "submit", self._authed(self._submit)
            return "none", None
        at = parts.index("requests")
        app, tail = "/".join(parts[:at]), parts[at + 1 :]
        if not tail or self.apps.get(tail[0], app) != app:
            return "none", None  # status/result/cancel live under owner/app only
        table = {
            ("GET", 2, "status"): ("poll", self._status),
            ("GET", 1, ""): ("result", self._result),
            ("PUT", 2, "cancel"): ("cancel", self._cancel),
        }
        name, handler = table.get(
            (request.method, len(tail), tail[-1] if len(tail) > 1 else ""), ("none", None)
        )
        return name, (self._authed(handler) if handler else None)

    def fault_reply(self, kind: str, route: str) -> Reply:
        status, body, headers = FAULTS[kind]
        return Reply(status, body, headers=dict(headers))

    def not_found(self, request: Request) -> Reply:
        return Reply(404, {"detail": "Not Found"})

    def _authed(self, handler: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
        def wrapped(request: Request) -> Reply:
            header = request.headers.get("authorization", "")
            if not header.startswith("Key ") or header[4:] not in self.keys:
                return self.fault_reply("auth", "")
            return handler(request)

        return wrapped

    def _submit(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        parts = request.path.strip("/").split("/")
        problem = self._invalid(body, seedance="seedance" in parts)
        if problem is not None:
            return problem
        task = self.new_task(new_id(), request)
        if TRIGGER_WORD in body["prompt"]:
            task.outcome = "moderation"
        app = "/".join(parts[:2])
        self.apps[task.id] = app
        root = f"{self.url}/{app}/requests/{task.id}"
        return Reply(
            200,
            {
                "request_id": task.id,
                "gateway_request_id": task.id,
                "response_url": root,
                "status_url": root + "/status",
                "cancel_url": root + "/cancel",
                "queue_position": 0,
            },
        )

    def _invalid(self, body: dict[str, Any], *, seedance: bool) -> Reply | None:
        if not isinstance(body.get("prompt"), str):
            return _missing("prompt")
        image = body.get("image_url")
        if not isinstance(image, str) or not image.startswith(("http", "data:image/")):
            return _missing("image_url", "value_error", "invalid image url")
        allowed = {str(n) for n in range(2, 13)} if seedance else {"5", "10"}
        if body.get("duration", "5") not in allowed:
            return _missing("duration", "literal_error", f"duration must be one of {allowed}")
        if seedance and not isinstance(body.get("camera_fixed", False), bool):
            return _missing("camera_fixed", "bool_type", "Input should be a valid boolean")
        return None

    def _get(self, request: Request) -> FakeTask | None:
        parts = request.path.strip("/").split("/")
        task = self.tasks.get(parts[parts.index("requests") + 1])
        return None if task is None or task.outcome == "lost" else task

    def _status(self, request: Request) -> Reply:
        task = self._get(request)
        if task is None:
            return Reply(404, {"detail": "Request not found"})
        if task.cancelled:  # a cancelled request is removed from the queue
            return Reply(404, {"detail": "Request not found"})
        raw = task.advance()
        body: dict[str, Any] = {"status": raw, "response_url": request.path.rsplit("/", 1)[0]}
        if raw == "IN_QUEUE":
            body["queue_position"] = 0
        if raw in ("IN_PROGRESS", "COMPLETED"):
            body["logs"] = [{"message": "generating", "level": "INFO", "source": "user"}]
        if raw == "COMPLETED":
            body["metrics"] = {"inference_time": 42.0}
        return Reply(200 if raw == "COMPLETED" else 202, body)

    def _result(self, request: Request) -> Reply:
        task = self._get(request)
        if task is None:
            return Reply(404, {"detail": "Request not found"})
        if task.polls < len(task.steps):
            return Reply(400, {"detail": "Request is still in progress"})
        if task.outcome == "moderation":
            return self.fault_reply("moderation", "result")
        if task.outcome == "failed":
            detail = {
                "loc": ["body", "image_url"],
                "msg": "could not load",
                "type": "image_load_error",
            }
            return Reply(422, {"detail": [detail]}, headers={"X-Fal-Retryable": "false"})
        video = {
            "url": self.video_url(task.id),
            "content_type": "video/mp4",
            "file_name": "output.mp4",
            "file_size": 1234,
        }
        return Reply(200, {"video": video, "seed": 7})

    def _cancel(self, request: Request) -> Reply:
        task = self._get(request)
        if task is None:
            return Reply(404, {"status": "NOT_FOUND"})
        if task.polls >= len(task.steps):
            return Reply(400, {"status": "ALREADY_COMPLETED"})
        task.cancelled = True
        return Reply(202, {"status": "CANCELLATION_REQUESTED"})
