"""Volcengine Ark (Seedance) contents/generations/tasks: first frame, duration, ratio, camera."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from liveai.errors import (
    ProviderAuthError,
    ProviderBalanceExhausted,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from liveai.providers.base import (
    Motion,
    ProviderState,
    ProviderStatus,
    VideoRequest,
)
from liveai.providers.keyed import KeyedProvider
from liveai.providers.prompts import with_motion
from liveai.providers.spec import Credential, VendorSpec, keyed

if TYPE_CHECKING:  # for types only: httpx and the HTTP code cost every command's start-up
    import httpx

    from liveai.providers.http import Json

CHINA_URL = "https://ark.cn-beijing.volces.com/api/v3"
MODEL = "doubao-seedance-1-0-pro-250528"
OVERSEAS_HOSTS = ("bytepluses.com",)
PATH = "/contents/generations/tasks"
API_KEY = Credential("ark_api_key", "Volcengine Ark API key")
_STATES = {
    "queued": ProviderState.QUEUED,
    "running": ProviderState.RUNNING,
    "succeeded": ProviderState.SUCCEEDED,
    "failed": ProviderState.FAILED,
    "cancelled": ProviderState.CANCELLED,
}
_RATIOS = {"16:9": 16 / 9, "4:3": 4 / 3, "1:1": 1.0, "3:4": 3 / 4, "9:16": 9 / 16, "21:9": 21 / 9}


def ratio_for(width: int, height: int) -> str:
    """The supported ratio closest to the image's, so Ark crops as little as possible."""
    actual = width / height
    return min(_RATIOS, key=lambda name: abs(_RATIOS[name] - actual))


def _classify(code: str, message: str) -> type[ProviderError] | None:
    if "SensitiveContent" in code:
        return ProviderRejected
    if "Overdue" in code or "Balance" in code or "Arrear" in code:
        return ProviderBalanceExhausted
    if code.startswith(("Authentication", "InvalidApiKey", "AccessDenied", "Unauthorized")):
        return ProviderAuthError
    if "RateLimit" in code or "QuotaExceeded" in code or "Overloaded" in code:
        return ProviderRateLimited
    return None


def map_error(response: httpx.Response, body: Any) -> ProviderError:
    from liveai.providers.http import generic_error  # here: start-up cost (httpx)

    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return generic_error("ark", response, None, "")
    code, message = str(error.get("code") or ""), str(error.get("message") or "")
    kind = _classify(code, message)
    if kind is ProviderRejected:
        return ProviderRejected(f"rejected by moderation: {code}", provider="ark", code=code)
    if kind is not None:
        return kind(f"{code}: {message}", provider="ark", code=code)
    return generic_error("ark", response, code, f"{code}: {message}")


class ArkProvider(KeyedProvider):
    name = "ark"

    @staticmethod
    def spec() -> VendorSpec:
        return SPEC

    @staticmethod
    def error_for(response: httpx.Response, body: Any) -> ProviderError:
        return map_error(response, body)

    def payload(self, request: VideoRequest) -> Json:
        static = request.motion is Motion.STATIC
        prompt = request.prompt.strip() if static else with_motion(request.prompt, request.motion)
        image = request.image_url or (
            "data:image/jpeg;base64," + base64.b64encode(request.image_jpeg).decode()
        )
        content: list[Json] = [
            {"type": "image_url", "image_url": {"url": image}, "role": "first_frame"}
        ]
        if prompt:
            content.insert(0, {"type": "text", "text": prompt})
        return {
            "model": self.model,
            "content": content,
            "resolution": "720p",
            "ratio": ratio_for(request.width, request.height),
            "duration": self.spec().duration_for(request.duration_s),
            "camera_fixed": static,
            "watermark": False,
        }

    def submit(self, request: VideoRequest) -> str:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        body = self.http.call("POST", PATH, json_body=self.payload(request), idempotent=False)
        return str(dig(body, "id", provider=self.name))

    def poll(self, provider_task_id: str) -> ProviderStatus:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        try:
            body = self.http.call("GET", f"{PATH}/{provider_task_id}")
        except ProviderError as exc:
            if type(exc) is ProviderError:  # 404: no such task (or over 24 h old)
                raise self._lost(provider_task_id) from None
            raise
        raw = str(dig(body, "status", provider=self.name))
        if raw == "expired":
            raise self._lost(provider_task_id)
        if raw not in _STATES:
            raise ProviderUnavailable(f"unknown task status {raw!r}", provider=self.name)
        state = _STATES[raw]
        if state is ProviderState.SUCCEEDED:
            url = dig(body, "content", "video_url", provider=self.name)
            return ProviderStatus(state, provider_task_id, video_url=str(url))
        if state is ProviderState.FAILED:
            return self._failed(provider_task_id, body)
        return ProviderStatus(state, provider_task_id)

    def _failed(self, provider_task_id: str, body: Json) -> ProviderStatus:
        error = body.get("error")
        if not isinstance(error, dict):
            error = {}
        code = str(error.get("code") or body.get("failure_reason") or "failed")
        message = str(error.get("message") or "")
        if "SensitiveContent" in code:
            raise ProviderRejected(f"rejected by moderation: {code}", provider=self.name, code=code)
        return ProviderStatus(
            ProviderState.FAILED, provider_task_id, error_code=code, error_message=message
        )

    def _lost(self, provider_task_id: str) -> ProviderUnavailable:
        return ProviderUnavailable(
            f"task {provider_task_id} is lost or expired", provider=self.name, code="lost"
        )

    def cancel(self, provider_task_id: str) -> bool:
        """Only a queued task can be cancelled; a running one answers an error."""
        try:
            self.http.call("DELETE", f"{PATH}/{provider_task_id}")
        except ProviderError as exc:
            if exc.retryable or type(exc) is not ProviderError:
                raise
            return False
        return True

    def poll_delay(self, polls: int) -> float:
        """Ark's documented examples poll every 10 s."""
        return 10.0

    def check(self) -> str:
        self.http.call("GET", PATH, params={"page_num": 1, "page_size": 1})
        return f"authenticated at {self.http.base_url}"


SPEC = VendorSpec(
    name="ark",
    base_url=CHINA_URL,
    model=MODEL,
    durations=tuple(range(2, 13)),  # Seedance 1.0 pro: 2 to 12 s
    credentials=((API_KEY,),),
    # Result videos come from TOS buckets (…tos-cn-beijing.volces.com) or BytePlus storage.
    result_hosts=("volces.com", "bytepluses.com"),
    build=keyed(ArkProvider, API_KEY),
    overseas_hosts=OVERSEAS_HOSTS,
)
