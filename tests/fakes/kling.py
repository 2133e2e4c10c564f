"""A loopback Kling image2video API: JWT or static-key auth, validation, task lifecycle, codes."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Any

import jwt

from tests.fakes.video_api import TRIGGER_WORD, FakeTask, FakeVideoApi, Reply, Request, new_id

PATH = "/v1/videos/image2video"
MODELS = {"kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master", "kling-v2-1", "kling-v2-6"}
AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
PRESETS = {"down_back", "forward_up", "right_turn_forward", "left_turn_forward"}
FAULTS = {
    "500": (500, 5000, "internal error"),
    "503": (503, 5001, "service unavailable"),
    "rate_limit": (429, 1302, "rate limit exceeded"),
    "concurrency": (429, 1303, "parallel task over resource pack limit"),
    "auth": (401, 1000, "authentication failed"),
    "balance": (429, 1102, "resource pack exhausted"),
    "moderation": (400, 1301, "content security policy"),
}


def _error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message, "request_id": new_id()})


class FakeKling(FakeVideoApi):
    def __init__(
        self,
        *,
        access_keys: dict[str, str] | None = None,
        api_keys: set[str] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.access_keys = access_keys or {}
        self.api_keys = api_keys or set()
        self.now = now
        self.tokens_seen: list[str] = []
        self.external_ids: set[str] = set()
        self.by_external: dict[str, str] = {}

    def lifecycle(self) -> list[str]:
        return ["submitted"] + ["processing"] * (self.polls_to_finish - 1) + ["done"]

    def route(self, request: Request) -> tuple[str, Any]:
        if request.path == PATH and request.method == "POST":
            return "submit", self._authed(self._submit)
        if request.path == PATH and request.method == "GET":
            return "list", self._authed(self._list)
        if request.path.startswith(PATH + "/") and request.method == "GET":
            return "poll", self._authed(self._poll)
        return "none", None

    def fault_reply(self, kind: str, route: str) -> Reply:
        return _error(*FAULTS[kind])

    def _authed(self, handler: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
        def wrapped(request: Request) -> Reply:
            refused = self._check_auth(request.headers.get("authorization", ""))
            return refused or handler(request)

        return wrapped

    def _check_auth(self, header: str) -> Reply | None:
        if not header.startswith("Bearer ") or not header[7:]:
            return _error(401, 1001, "authorization header is empty")
        token = header[7:]
        self.tokens_seen.append(token)
        if token in self.api_keys:
            return None
        try:
            if jwt.get_unverified_header(token) != {"alg": "HS256", "typ": "JWT"}:
                return _error(401, 1002, "authorization is invalid")
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            claims = jwt.decode(
                token,
                self.access_keys.get(str(issuer), "unknown-access-key-" + "0" * 32),
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False, "require": ["exp", "nbf"]},
            )
        except jwt.PyJWTError:
            return _error(401, 1002, "authorization is invalid")
        if self.now() < claims["nbf"]:
            return _error(401, 1003, "authorization is not yet valid")
        if self.now() >= claims["exp"]:
            return _error(401, 1004, "authorization has expired")
        return None

    def _submit(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        problem = self._invalid(body)
        if problem:
            return _error(400, 1201, problem)
        if TRIGGER_WORD in str(body.get("prompt", "")):
            return self.fault_reply("moderation", "submit")
        task = self.new_task(new_id(), request)
        external = body.get("external_task_id")
        if external:
            self.external_ids.add(external)
            self.by_external[external] = task.id
        now_ms = int(self.now() * 1000)
        data = {
            "task_id": task.id,
            "task_status": "submitted",
            "task_info": {"external_task_id": external},
            "created_at": now_ms,
            "updated_at": now_ms,
        }
        return Reply(200, {"code": 0, "message": "SUCCEED", "request_id": new_id(), "data": data})

    def _invalid(self, body: dict[str, Any]) -> str | None:
        if body.get("model_name", "kling-v1") not in MODELS:
            return f"model_name {body.get('model_name')!r} is not supported"
        image = body.get("image")
        if not isinstance(image, str) or not image:
            return "image is required"
        if not image.startswith(("http://", "https://")):
            try:
                base64.b64decode(image, validate=True)
            except (binascii.Error, ValueError):
                return "image must be a URL or bare base64 (no data: prefix)"
        if body.get("duration", "5") not in ("5", "10"):
            return "duration must be the string 5 or 10"
        if body.get("mode", "std") not in ("std", "pro"):
            return "mode must be std or pro"
        if len(str(body.get("prompt", ""))) > 2500:
            return "prompt is longer than 2500 characters"
        if body.get("external_task_id") in self.external_ids:
            return "external_task_id is already used"
        camera = body.get("camera_control")
        return self._invalid_camera(body, camera) if camera is not None else None

    def _invalid_camera(self, body: dict[str, Any], camera: Any) -> str | None:
        if "image_tail" in body:
            return "camera_control and image_tail are mutually exclusive"
        supported = (body.get("model_name"), body.get("mode"), body.get("duration"))
        if supported != ("kling-v1-5", "pro", "5"):
            return "camera_control is not supported by this model, mode or duration"
        if camera.get("type") in PRESETS:
            return "presets take no config" if camera.get("config") else None
        if camera.get("type") != "simple":
            return "camera_control.type is invalid"
        config = camera.get("config") or {}
        nonzero = [axis for axis in AXES if config.get(axis, 0) != 0]
        if set(config) - set(AXES) or len(nonzero) != 1:
            return "camera_control.config needs exactly one non-zero field"
        if not -10 <= config[nonzero[0]] <= 10:
            return "camera_control.config values are in [-10, 10]"
        return None

    def _poll(self, request: Request) -> Reply:
        wanted = request.path.rsplit("/", 1)[1]  # a task id, or an external_task_id
        task = self.tasks.get(self.by_external.get(wanted, wanted))
        if task is None or task.outcome == "lost":
            return _error(404, 1203, "task not found")
        raw = task.advance()
        data: dict[str, Any] = {"task_id": task.id, "task_status": raw, "task_status_msg": ""}
        if raw == "done":
            data.update(self._terminal(task))
        return Reply(200, {"code": 0, "message": "SUCCEED", "request_id": new_id(), "data": data})

    def _terminal(self, task: FakeTask) -> dict[str, Any]:
        if task.outcome == "moderation":
            msg = "Failure to pass the risk control system"
            return {"task_status": "failed", "task_status_msg": msg}
        if task.outcome == "failed":
            return {"task_status": "failed", "task_status_msg": "internal generation error"}
        video = {"id": new_id(), "url": self.video_url(task.id), "duration": "5.1"}
        return {"task_status": "succeed", "task_result": {"videos": [video]}}

    def _list(self, request: Request) -> Reply:
        size = int(request.query.get("pageSize", ["30"])[0])
        items = [{"task_id": t.id, "task_status": "submitted"} for t in self.tasks.values()]
        return Reply(200, {"code": 0, "message": "SUCCEED", "data": items[:size]})
