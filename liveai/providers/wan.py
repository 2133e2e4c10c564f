"""Alibaba DashScope (Model Studio) Wan image-to-video: async create, task polling, cancel."""

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
    ProviderState,
    ProviderStatus,
    VideoRequest,
)
from liveai.providers.keyed import KeyedProvider
from liveai.providers.prompts import with_motion
from liveai.providers.spec import Credential, VendorSpec, delivered_duration, keyed

if TYPE_CHECKING:  # for types only: httpx and the HTTP code cost every command's start-up
    import httpx

    from liveai.providers.http import Json

CHINA_URL = "https://dashscope.aliyuncs.com"
MODEL = "wan2.6-i2v-flash"
OVERSEAS_HOSTS = ("dashscope-intl.aliyuncs.com", "dashscope-us.aliyuncs.com", "maas.aliyuncs.com")
CREATE_PATH = "/api/v1/services/aigc/video-generation/video-synthesis"
TASKS_PATH = "/api/v1/tasks"
API_KEY = Credential("wan_api_key", "Alibaba DashScope API key")
_STATES = {
    "PENDING": ProviderState.QUEUED,
    "SUSPENDED": ProviderState.QUEUED,
    "RUNNING": ProviderState.RUNNING,
    "SUCCEEDED": ProviderState.SUCCEEDED,
    "FAILED": ProviderState.FAILED,
    "CANCELED": ProviderState.CANCELLED,
}
# What each model accepts (resolutions, durations in seconds); unknown models get 720P as asked.
LIMITS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "wan2.1-i2v-turbo": (("480P", "720P"), (3, 4, 5)),
    "wan2.1-i2v-plus": (("720P",), (5,)),
    "wan2.2-i2v-flash": (("480P", "720P"), (5,)),
    "wan2.2-i2v-plus": (("480P", "1080P"), (5,)),
    "wan2.5-i2v-preview": (("480P", "720P", "1080P"), (5, 10)),
    "wan2.6-i2v": (("720P", "1080P"), (5, 10, 15)),
    "wan2.6-i2v-flash": (("720P", "1080P"), (5, 10, 15)),
}
MODERATION_CODES = frozenset({"DataInspectionFailed", "data_inspection_failed"})
_AUTH_CODES = frozenset({"InvalidApiKey", "AccessDenied", "Unauthorized"})
_BALANCE_CODES = frozenset({"Arrearage", "AccessDenied.Unpurchased"})


def uses_media(model: str) -> bool:
    """wan2.7 and later take input.media[] instead of input.img_url."""
    version = model.removeprefix("wanx").removeprefix("wan").split("-", 1)[0]
    try:
        return tuple(int(p) for p in version.split(".")) >= (2, 7)
    except ValueError:
        return False


def output_for(model: str, duration_s: int) -> tuple[str, int]:
    """720P when the model has it (else its closest), and the allowed duration nearest the ask."""
    resolutions, durations = LIMITS.get(model.replace("wanx", "wan"), (("720P",), ()))
    resolution = "720P" if "720P" in resolutions else resolutions[-1]
    return resolution, delivered_duration(duration_s, durations)


def map_error(response: httpx.Response, body: Any) -> ProviderError:
    from liveai.providers.http import generic_error  # here: start-up cost (httpx)

    code = str(body.get("code") or "") if isinstance(body, dict) else ""
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    text = f"{code}: {message}"
    if code in MODERATION_CODES:
        return ProviderRejected(f"rejected by moderation: {text}", provider="wan", code=code)
    if code in _BALANCE_CODES:
        hint = "top up the Alibaba Cloud account"
        return ProviderBalanceExhausted(text, provider="wan", code=code, hint=hint)
    if code in _AUTH_CODES:
        hint = "check LIVEAI_WAN_API_KEY and its region"
        return ProviderAuthError(text, provider="wan", code=code, hint=hint)
    if code.startswith("Throttling"):
        return ProviderRateLimited(text, provider="wan", code=code)
    return generic_error("wan", response, code or None, text if code else "")


class WanProvider(KeyedProvider):
    name = "wan"

    @staticmethod
    def spec() -> VendorSpec:
        return SPEC

    @staticmethod
    def error_for(response: httpx.Response, body: Any) -> ProviderError:
        return map_error(response, body)

    def payload(self, request: VideoRequest) -> Json:
        image = request.image_url or (
            "data:image/jpeg;base64," + base64.b64encode(request.image_jpeg).decode()
        )
        inputs: Json = {"prompt": with_motion(request.prompt, request.motion)}
        if uses_media(self.model):
            inputs["media"] = [{"type": "first_frame", "url": image}]
        else:
            inputs["img_url"] = image
        resolution, duration = output_for(self.model, request.duration_s)
        parameters = {
            "resolution": resolution,
            "duration": duration,
            "prompt_extend": False,
            "watermark": False,
        }
        return {"model": self.model, "input": inputs, "parameters": parameters}

    def submit(self, request: VideoRequest) -> str:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        body = self.http.call(
            "POST",
            CREATE_PATH,
            json_body=self.payload(request),
            headers={"X-DashScope-Async": "enable"},
            idempotent=False,
        )
        return str(dig(body, "output", "task_id", provider=self.name))

    def poll(self, provider_task_id: str) -> ProviderStatus:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        body = self.http.call("GET", f"{TASKS_PATH}/{provider_task_id}")
        output = dig(body, "output", provider=self.name)
        raw = str(dig(output, "task_status", provider=self.name))
        if raw == "UNKNOWN":  # unknown id, or over 24 h old
            raise ProviderUnavailable(
                f"task {provider_task_id} is lost or expired", provider=self.name, code="lost"
            )
        if raw not in _STATES:
            raise ProviderUnavailable(f"unknown task status {raw!r}", provider=self.name)
        state = _STATES[raw]
        if state is ProviderState.SUCCEEDED:
            url = dig(output, "video_url", provider=self.name)
            return ProviderStatus(state, provider_task_id, video_url=str(url))
        if state is ProviderState.FAILED:
            code, message = str(output.get("code") or "failed"), str(output.get("message") or "")
            if code in MODERATION_CODES:
                raise ProviderRejected(
                    f"rejected by moderation: {code}", provider=self.name, code=code
                )
            return ProviderStatus(state, provider_task_id, error_code=code, error_message=message)
        return ProviderStatus(state, provider_task_id)

    def cancel(self, provider_task_id: str) -> bool:
        """Only a PENDING task can be cancelled."""
        try:
            self.http.call("POST", f"{TASKS_PATH}/{provider_task_id}/cancel")
        except ProviderError as exc:
            if exc.retryable or type(exc) is not ProviderError:
                raise
            return False
        return True

    def poll_delay(self, polls: int) -> float:
        """The DashScope SDK's schedule: 1 s, doubling every 3 polls, capped at 5 s."""
        return float(min(5, 2 ** (polls // 3)))

    def check(self) -> str:
        self.http.call("GET", TASKS_PATH, params={"page_no": 1, "page_size": 1})
        return f"authenticated at {self.http.base_url}"


SPEC = VendorSpec(
    name="wan",
    base_url=CHINA_URL,
    model=MODEL,
    durations=LIMITS[MODEL][1],
    credentials=((API_KEY,),),
    # Result videos come from OSS buckets (dashscope-result-….aliyuncs.com).
    result_hosts=("aliyuncs.com",),
    build=keyed(WanProvider, API_KEY),
    overseas_hosts=OVERSEAS_HOSTS,
)
