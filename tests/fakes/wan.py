"""A loopback Alibaba DashScope video-synthesis API (Wan), async tasks only."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageStat

from tests.fakes.video_api import TRIGGER_WORD, FakeTask, FakeVideoApi, Reply, Request, new_id

QWEN = "/compatible-mode/v1/chat/completions"
CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"
TASKS = "/api/v1/tasks"
RESOLUTIONS = {
    "wan2.1-i2v-turbo": {"480P", "720P"},
    "wan2.2-i2v-flash": {"480P", "720P"},
    "wan2.2-i2v-plus": {"480P", "1080P"},
    "wan2.5-i2v-preview": {"480P", "720P", "1080P"},
    "wan2.6-i2v-flash": {"720P", "1080P"},
    "wan2.7-i2v": {"720P", "1080P"},
}
DURATIONS = {
    "wan2.1-i2v-turbo": {3, 4, 5},
    "wan2.2-i2v-flash": {5},
    "wan2.2-i2v-plus": {5},
    "wan2.5-i2v-preview": {5, 10},
    "wan2.6-i2v-flash": {5, 10, 15},
    "wan2.7-i2v": {5, 10, 15},
}
FAULTS = {
    "500": (500, "InternalError", "An internal error has occured, please try again later."),
    "503": (503, "ServiceUnavailable", "The service is temporarily unavailable."),
    "rate_limit": (429, "Throttling.RateQuota", "Requests rate limit exceeded."),
    "auth": (401, "InvalidApiKey", "Invalid API-key provided."),
    "balance": (
        400,
        "Arrearage",
        "Access denied, please make sure your account is in good standing.",
    ),
    "moderation": (400, "DataInspectionFailed", "Input data may contain inappropriate content."),
}


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"request_id": new_id(), "code": code, "message": message})


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime())


class FakeWan(FakeVideoApi):
    def __init__(self, *, api_keys: set[str]) -> None:
        super().__init__()
        self.api_keys = api_keys

    def lifecycle(self) -> list[str]:
        return ["PENDING"] + ["RUNNING"] * (self.polls_to_finish - 1) + ["done"]

    def route(self, request: Request) -> tuple[str, Any]:
        path, method = request.path, request.method
        if path == CREATE and method == "POST":
            return "submit", self._authed(self._submit)
        if path == QWEN and method == "POST":
            return "qwen", self._qwen_authed
        if path == TASKS and method == "GET":
            return "list", self._authed(self._list)
        if path.startswith(TASKS + "/") and path.endswith("/cancel") and method == "POST":
            return "cancel", self._authed(self._cancel)
        if path.startswith(TASKS + "/") and method == "GET":
            return "poll", self._authed(self._poll)
        return "none", None

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
        if request.headers.get("x-dashscope-async") != "enable":
            message = "current user api does not support synchronous calls"
            return error(403, "AccessDenied", message)
        body = request.body if isinstance(request.body, dict) else {}
        problem = self._invalid(body)
        if problem:
            return error(400, "InvalidParameter", problem)
        if TRIGGER_WORD in str(body["input"].get("prompt", "")):
            return self.fault_reply("moderation", "submit")
        task = self.new_task(new_id(), request)
        output = {"task_id": task.id, "task_status": "PENDING"}
        return Reply(200, {"output": output, "request_id": new_id()})

    def _invalid(self, body: dict[str, Any]) -> str | None:
        model = body.get("model")
        if model not in RESOLUTIONS:
            return f"Model not exist: {model}"
        inputs = body.get("input")
        if not isinstance(inputs, dict):
            return "Field required: input"
        if model == "wan2.7-i2v":
            media = inputs.get("media")
            if not isinstance(media, list) or media[0].get("type") != "first_frame":
                return "Field required: input.media"
            image = media[0].get("url")
        else:
            image = inputs.get("img_url")
        if not isinstance(image, str) or not image.startswith(("http", "data:image/")):
            return "The image url is invalid"
        params = body.get("parameters") or {}
        if params.get("resolution", "720P") not in RESOLUTIONS[model]:
            return f"Parameter resolution is not supported by {model}"
        if params.get("duration", 5) not in DURATIONS[model]:
            return "Parameter duration is invalid"
        return None

    def _task(self, request: Request) -> FakeTask | None:
        task_id = request.path.removeprefix(TASKS + "/").removesuffix("/cancel")
        task = self.tasks.get(task_id)
        return None if task is None or task.outcome == "lost" else task

    def _poll(self, request: Request) -> Reply:
        task = self._task(request)
        if task is None:
            task_id = request.path.rsplit("/", 1)[1]
            output = {"task_id": task_id, "task_status": "UNKNOWN"}
            return Reply(200, {"request_id": new_id(), "output": output})
        output = {"task_id": task.id, "submit_time": _stamp()}
        if task.cancelled:
            output["task_status"] = "CANCELED"
        else:
            raw = task.advance()
            output.update(self._terminal(task) if raw == "done" else {"task_status": raw})
        reply = {"request_id": new_id(), "output": output}
        if output["task_status"] == "SUCCEEDED":
            reply["usage"] = {"video_duration": 5, "video_ratio": "832*480", "video_count": 1}
        return Reply(200, reply)

    def _terminal(self, task: FakeTask) -> dict[str, Any]:
        if task.outcome == "moderation":
            message = "Output data may contain inappropriate content."
            return {"task_status": "FAILED", "code": "DataInspectionFailed", "message": message}
        if task.outcome == "failed":
            return {"task_status": "FAILED", "code": "InternalError", "message": "x"}
        return {
            "task_status": "SUCCEEDED",
            "end_time": _stamp(),
            "video_url": self.video_url(task.id),
        }

    def _cancel(self, request: Request) -> Reply:
        task = self._task(request)
        if task is None:
            return error(404, "NotFound", "task not found")
        if task.polls > 0:
            return error(400, "UnsupportedOperation", "only a PENDING task can be canceled")
        task.cancelled = True
        return Reply(200, {"request_id": new_id()})

    def _qwen_authed(self, request: Request) -> Reply:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.api_keys:
            message = "Incorrect API key provided."
            error = {"code": "invalid_api_key", "type": "invalid_request_error", "message": message}
            return Reply(401, {"error": error})
        return self._qwen(request)

    def _qwen(self, request: Request) -> Reply:
        """Qwen-VL through the OpenAI-compatible API: a mostly red photo counts as unsafe,
        a mostly green one trips DashScope's own inspection, anything else is safe."""
        body = request.body if isinstance(request.body, dict) else {}
        parts = body.get("messages", [{}])[0].get("content", [])
        urls = [p["image_url"]["url"] for p in parts if p.get("type") == "image_url"]
        if body.get("model", "").startswith("qwen") is False or not urls:
            error = {"code": "invalid_parameter_error", "type": "invalid_request_error"}
            return Reply(400, {"error": {**error, "message": "model and an image are required"}})
        red, green, blue = _mean_colour(urls[0])
        if green > red + 60 and green > blue + 60:
            error = {"code": "data_inspection_failed", "type": "data_inspection_failed"}
            message = "Input data may contain inappropriate content."
            return Reply(400, {"error": {**error, "param": None, "message": message}})
        unsafe = red > green + 60 and red > blue + 60
        verdict = {"safe": not unsafe, "category": "violence" if unsafe else "none"}
        answer = f"```json\n{json.dumps(verdict)}\n```"
        choice = {"index": 0, "message": {"role": "assistant", "content": answer}}
        return Reply(200, {"id": new_id(), "object": "chat.completion", "choices": [choice]})

    def _list(self, request: Request) -> Reply:
        size = int(request.query.get("page_size", ["10"])[0])
        rows = [{"task_id": t.id, "status": "PENDING"} for t in self.tasks.values()]
        return Reply(200, {"request_id": new_id(), "data": rows[:size], "total": len(rows)})


def _mean_colour(data_url: str) -> tuple[float, ...]:
    raw = base64.b64decode(data_url.split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as image:
        return tuple(ImageStat.Stat(image.convert("RGB")).mean)
