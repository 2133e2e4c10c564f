"""fal.ai queue API: submit, status, result and cancel, following the URLs it returns."""

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
from liveai.providers.spec import Credential, VendorSpec, delivered_duration, keyed

if TYPE_CHECKING:  # for types only: httpx and the HTTP code cost every command's start-up
    import httpx

    from liveai.providers.http import CallPolicy, Json

QUEUE_URL = "https://queue.fal.run"
MODEL = "fal-ai/kling-video/v2.1/standard/image-to-video"
MODERATION_TYPE = "content_policy_violation"
KEY = Credential("fal_key", "fal API key")
SEEDANCE_V1 = "fal-ai/bytedance/seedance/v1/"
SEEDANCE_V1_DURATIONS = tuple(range(2, 13))  # "2" to "12"
_STATES = {"IN_QUEUE": ProviderState.QUEUED, "IN_PROGRESS": ProviderState.RUNNING}
_RETRYABLE_STATUSES = frozenset({408, 409, 502, 503, 504})


def app_path(model: str) -> str:
    """Status/result/cancel live under owner/app only (three segments for workflows/comfy)."""
    parts = model.strip("/").split("/")
    keep = 3 if parts[0] in ("workflows", "comfy") else 2
    return "/".join(parts[:keep])


def seedance_durations(model: str) -> tuple[int, ...]:
    """Seedance v1's durations; none for the other Seedance models, whose limits we lack."""
    return SEEDANCE_V1_DURATIONS if model.startswith(SEEDANCE_V1) else ()


def _detail_types(body: Any) -> list[str]:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        return [str(d.get("type")) for d in detail if isinstance(d, dict)]
    return []


def _detail_text(body: Any) -> str:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg") or "")
    return str(detail or "")


def map_error(response: httpx.Response, body: Any) -> ProviderError:
    from liveai.providers.http import generic_error  # here: start-up cost (httpx)

    text, types = _detail_text(body), _detail_types(body)
    if MODERATION_TYPE in types:
        return ProviderRejected(
            f"rejected by moderation: {text}", provider="fal", code=MODERATION_TYPE
        )
    if "balance" in text.lower():
        hint = "top up the fal account"
        return ProviderBalanceExhausted(text, provider="fal", code="balance", hint=hint)
    if response.status_code in (401, 403):
        hint = "check LIVEAI_FAL_KEY (key_id:key_secret)"
        return ProviderAuthError(text, provider="fal", code=str(response.status_code), hint=hint)
    if response.status_code == 429:
        return ProviderRateLimited(text, provider="fal", code="429")
    retryable = response.headers.get("x-fal-retryable", "").lower() == "true"
    if retryable or response.status_code in _RETRYABLE_STATUSES:
        error_type = response.headers.get("x-fal-error-type") or str(response.status_code)
        return ProviderUnavailable(text or error_type, provider="fal", code=error_type)
    code = types[0] if types else None
    return generic_error("fal", response, code, text)


class FalProvider(KeyedProvider):
    name = "fal"
    auth_scheme = "Key"

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str | None = None,
        policy: CallPolicy | None = None,
    ) -> None:
        super().__init__(client, api_key=api_key, base_url=base_url, model=model, policy=policy)
        self.model = self.model.strip("/")
        self._urls: dict[str, Json] = {}  # request id -> the URLs submit returned

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
        static = request.motion is Motion.STATIC
        duration = self.spec().duration_for(request.duration_s)
        body: Json = {"image_url": image, "duration": str(duration)}
        if "seedance" in self.model:
            durations = seedance_durations(self.model)
            body["duration"] = str(delivered_duration(request.duration_s, durations))
            body["camera_fixed"] = static
            body["prompt"] = (
                request.prompt if static else with_motion(request.prompt, request.motion)
            )
        else:
            body["prompt"] = with_motion(request.prompt, request.motion)
        return body

    def submit(self, request: VideoRequest) -> str:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        body = self.http.call("POST", self.model, json_body=self.payload(request), idempotent=False)
        request_id = str(dig(body, "request_id", provider=self.name))
        self._urls[request_id] = body
        return request_id

    def _url(self, request_id: str, kind: str) -> str:
        returned = self._urls.get(request_id, {}).get(kind)
        if isinstance(returned, str):
            return returned
        # After a restart the returned URLs are gone; rebuild them by the owner/app rule.
        base = f"{app_path(self.model)}/requests/{request_id}"
        return {"response_url": base, "status_url": base + "/status"}.get(kind, base + "/cancel")

    def poll(self, provider_task_id: str) -> ProviderStatus:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        try:
            body = self.http.call("GET", self._url(provider_task_id, "status_url"))
        except ProviderError as exc:
            if type(exc) is ProviderError:  # 404: the request is unknown
                raise ProviderUnavailable(
                    f"request {provider_task_id} is lost", provider=self.name, code="lost"
                ) from None
            raise
        raw = str(dig(body, "status", provider=self.name))
        if raw in _STATES:
            return ProviderStatus(_STATES[raw], provider_task_id)
        if raw != "COMPLETED":
            raise ProviderUnavailable(f"unknown request status {raw!r}", provider=self.name)
        return self._result(provider_task_id)

    def _result(self, request_id: str) -> ProviderStatus:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        try:
            body = self.http.call("GET", self._url(request_id, "response_url"))
        except ProviderError as exc:
            if type(exc) is not ProviderError:
                raise
            return ProviderStatus(
                ProviderState.FAILED, request_id, error_code=exc.code, error_message=exc.message
            )
        url = dig(body, "video", "url", provider=self.name)
        return ProviderStatus(ProviderState.SUCCEEDED, request_id, video_url=str(url))

    def cancel(self, provider_task_id: str) -> bool:
        try:
            body = self.http.call("PUT", self._url(provider_task_id, "cancel_url"))
        except ProviderError as exc:
            if type(exc) is not ProviderError:
                raise
            return False  # ALREADY_COMPLETED or NOT_FOUND
        return body.get("status") in ("OK", "CANCELLATION_REQUESTED")

    def poll_delay(self, polls: int) -> float:
        """fal's client polls every 0.1 s, far too fast for video: 2 s, then 5 s."""
        return 2.0 if polls < 10 else 5.0

    def check(self) -> str:
        # A status query for a request that cannot exist: 404 means the key was accepted.
        try:
            self.http.call("GET", f"{app_path(self.model)}/requests/liveai-check/status")
        except ProviderError as exc:
            if type(exc) is not ProviderError:
                raise
        return f"authenticated at {self.http.base_url}"


SPEC = VendorSpec(
    name="fal",
    base_url=QUEUE_URL,
    model=MODEL,
    durations=(5, 10),  # its default model is Kling's: "5" or "10"
    credentials=((KEY,),),
    # Result videos come from fal's CDN (v3.fal.media, ...).
    result_hosts=("fal.media", "fal.run"),
    build=keyed(FalProvider, KEY),
    home="overseas",
    rounds_up=True,
)
