"""A loopback Volcengine Ark (Seedance) contents/generations/tasks API."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.video_api import TRIGGER_WORD, FakeTask, FakeVideoApi, Reply, Request, new_id

PREFIX = "/api/v3"
PATH = PREFIX + "/contents/generations/tasks"
MODELS = {
    "doubao-seedance-1-5-pro-251215",
    "doubao-seedance-1-0-pro-250528",
    "doubao-seedance-1-0-pro-fast-251015",
    "doubao-seedance-1-0-lite-i2v-250428",
}
FIELDS = {
    "model",
    "content",
    "resolution",
    "ratio",
    "duration",
    "frames",
    "seed",
    "camera_fixed",
    "watermark",
    "callback_url",
    "return_last_frame",
    "service_tier",
    "execution_expires_after",
}
RATIOS = {"16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"}
FAULTS = {
    "500": (500, "InternalServiceError", "The service encountered an unexpected internal error."),
    "503": (503, "ServiceUnavailable", "The service is temporarily unavailable."),
    "rate_limit": (429, "RateLimitExceeded", "Your account has exceeded its RPM limit."),
    "auth": (401, "AuthenticationError", "The API key in the request is missing or invalid."),
    "balance": (403, "AccountOverdueError", "Your account has an overdue balance."),
    "moderation": (
        400,
        "InputImageSensitiveContentDetected.PrivacyInformation",
        "The request failed because the input image 'content[1]' may contain real person.",
    ),
}


def error(status: int, code: str, message: str, param: str | None = None) -> Reply:
    kind = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}
    body = {"code": code, "message": f"{message} Request id: {new_id()}", "param": param}
    body["type"] = kind.get(status, "ServerError")
    return Reply(status, {"error": body})


def _cgt_id() -> str:
    suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
    return time.strftime("cgt-%Y%m%d%H%M%S-", time.gmtime()) + suffix


class FakeArk(FakeVideoApi):
    def __init__(self, *, api_keys: set[str]) -> None:
        super().__init__()
        self.api_keys = api_keys

    @property
    def base_url(self) -> str:
        return self.url + PREFIX

    def lifecycle(self) -> list[str]:
        return ["queued"] + ["running"] * (self.polls_to_finish - 1) + ["done"]

    def route(self, request: Request) -> tuple[str, Any]:
        one = request.path.startswith(PATH + "/")
        table = {
            ("POST", False): ("submit", self._submit),
            ("GET", False): ("list", self._list),
            ("GET", True): ("poll", self._get),
            ("DELETE", True): ("cancel", self._delete),
        }
        if request.path != PATH and not one:
            return "none", None
        name, handler = table.get((request.method, one), ("none", None))
        return name, (self._authed(handler) if handler else None)

    def fault_reply(self, kind: str, route: str) -> Reply:
        return error(*FAULTS[kind])

    def _authed(self, handler: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
        def wrapped(request: Request) -> Reply:
            header = request.headers.get("authorization", "")
            if not header.startswith("Bearer ") or header[7:] not in self.api_keys:
                return self.fault_reply("auth", "")
            return handler(request)

        return wrapped

    def _submit(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        problem = self._invalid(body)
        if problem:
            return error(400, "InvalidParameter", f"The parameter {problem} is not valid.", problem)
        texts = [c.get("text", "") for c in body["content"] if c.get("type") == "text"]
        if any(TRIGGER_WORD in t for t in texts):
            message = "The request failed because the input text may contain sensitive information."
            return error(400, "InputTextSensitiveContentDetected", message)
        task = self.new_task(_cgt_id(), request)
        return Reply(200, {"id": task.id})

    def _invalid(self, body: dict[str, Any]) -> str | None:
        unknown = sorted(set(body) - FIELDS)
        if unknown:
            return unknown[0]
        if body.get("model") not in MODELS:
            return "model"
        content = body.get("content")
        if not isinstance(content, list) or not content:
            return "content"
        images = [i for i, c in enumerate(content) if c.get("type") == "image_url"]
        if len(images) != 1:
            return "content"
        item = content[images[0]]
        url = str(item.get("image_url", {}).get("url", ""))
        if not url.startswith(("http://", "https://", "data:image/")) or (
            url.startswith("data:") and ";base64," not in url
        ):
            return f"content[{images[0]}].image_url.url"
        if item.get("role", "first_frame") != "first_frame":
            return f"content[{images[0]}].role"
        return self._invalid_settings(body)

    def _invalid_settings(self, body: dict[str, Any]) -> str | None:
        if body.get("resolution", "720p") not in ("480p", "720p", "1080p"):
            return "resolution"
        if body.get("ratio", "adaptive") not in RATIOS:
            return "ratio"
        duration = body.get("duration", 5)
        if not isinstance(duration, int) or not 2 <= duration <= 12:
            return "duration"
        if not isinstance(body.get("camera_fixed", False), bool):
            return "camera_fixed"
        return None

    def _task(self, request: Request) -> FakeTask | None:
        task = self.tasks.get(request.path.rsplit("/", 1)[1])
        return None if task is None or task.outcome == "lost" else task

    def _get(self, request: Request) -> Reply:
        task = self._task(request)
        if task is None:
            return error(404, "ResourceNotFound", "The specified task is not found.")
        now = int(time.time())
        common = {"id": task.id, "model": task.input["model"], "created_at": now, "updated_at": now}
        if task.cancelled:
            return Reply(200, {**common, "status": "cancelled"})
        raw = task.advance()
        if raw != "done":
            return Reply(200, {**common, "status": raw, "service_tier": "default"})
        return Reply(200, {**common, **self._terminal(task)})

    def _terminal(self, task: FakeTask) -> dict[str, Any]:
        if task.outcome == "moderation":
            message = "The request failed because the output video may contain sensitive content."
            code = "OutputVideoSensitiveContentDetected"
            return {"status": "failed", "error": {"code": code, "message": message}}
        if task.outcome == "failed":
            return {"status": "failed", "error": {"code": "InternalServiceError", "message": "x"}}
        return {
            "status": "succeeded",
            "content": {"video_url": self.video_url(task.id)},
            "usage": {"completion_tokens": 246840, "total_tokens": 246840},
            "duration": task.input.get("duration", 5),
            "ratio": task.input.get("ratio", "adaptive"),
            "framespersecond": 24,
        }

    def _delete(self, request: Request) -> Reply:
        task = self._task(request)
        if task is None:
            return error(404, "ResourceNotFound", "The specified task is not found.")
        if task.polls > 0 and not task.cancelled:
            return error(400, "InvalidAction.TaskRunning", "A running task cannot be cancelled.")
        task.cancelled = True
        return Reply(200, {})

    def _list(self, request: Request) -> Reply:
        size = int(request.query.get("page_size", ["10"])[0])
        items = [{"id": t.id, "status": "queued"} for t in self.tasks.values()]
        return Reply(200, {"total": len(items), "items": items[:size]})


__all__ = ["FakeArk", "new_id"]
