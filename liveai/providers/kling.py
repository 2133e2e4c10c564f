"""Kling AI image2video: AK/SK JWT or static key, create and query, camera control, error codes."""

from __future__ import annotations

import base64
import threading
from typing import TYPE_CHECKING, Any

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderBalanceExhausted,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from liveai.providers.base import (
    ImageTransport,
    Motion,
    ProviderState,
    ProviderStatus,
    VideoRequest,
)
from liveai.providers.prompts import with_motion
from liveai.providers.spec import Credential, VendorSpec

if TYPE_CHECKING:  # for types only: httpx and the HTTP code cost every command's start-up
    import httpx

    from liveai.privacy.inventory_types import Region
    from liveai.providers.download import ResultOrigin
    from liveai.providers.http import CallPolicy, Json
    from liveai.settings import Settings

CHINA_URL = "https://api-beijing.klingai.com"
GLOBAL_URL = "https://api-singapore.klingai.com"
MODEL = "kling-v2-1"
OVERSEAS_HOSTS = ("api-singapore.klingai.com",)
ACCESS_KEY = Credential("kling_access_key", "Kling access key", secret=False)
SECRET_KEY = Credential("kling_secret_key", "Kling secret key")
API_KEY = Credential("kling_api_key", "Kling API key (instead of access and secret keys)")
PATH = "/v1/videos/image2video"
TOKEN_LIFETIME_S = 1800
RESIGN_BEFORE_S = 300
CAMERA_MODELS = frozenset({"kling-v1-5"})  # image2video camera control: v1-5, pro, 5 s only

_SIMPLE_AXES: dict[Motion, tuple[str, float]] = {
    Motion.TRUCK_LEFT: ("horizontal", -5),
    Motion.TRUCK_RIGHT: ("horizontal", 5),
    Motion.PEDESTAL_DOWN: ("vertical", -5),
    Motion.PEDESTAL_UP: ("vertical", 5),
    Motion.PAN_LEFT: ("pan", -5),
    Motion.PAN_RIGHT: ("pan", 5),
    Motion.TILT_DOWN: ("tilt", -5),
    Motion.TILT_UP: ("tilt", 5),
    Motion.ROLL_CCW: ("roll", -5),
    Motion.ROLL_CW: ("roll", 5),
    Motion.ZOOM_IN: ("zoom", -5),
    Motion.ZOOM_OUT: ("zoom", 5),
}
_PRESETS = {Motion.PUSH_IN: "forward_up", Motion.PULL_OUT: "down_back"}
_STATES = {
    "submitted": ProviderState.QUEUED,
    "processing": ProviderState.RUNNING,
    "succeed": ProviderState.SUCCEEDED,
    "failed": ProviderState.FAILED,
}
_AUTH_CODES = frozenset({1000, 1001, 1002, 1003, 1004, 1100, 1103, 1304})
_BALANCE_CODES = frozenset({1101, 1102})
_MODERATION_CODES = frozenset({1300, 1301})
_RATE_CODES = frozenset({1302, 1303})
# A failed task carries only free text; these mark a content-safety refusal.
_MODERATION_WORDS = ("content security", "risk", "sensitive", "policy", "审核", "违规", "安全")


def camera_control(model: str, mode: str, duration: str, motion: Motion) -> Json | None:
    """Kling's camera_control for this motion, or None when it must go in the prompt."""
    if model not in CAMERA_MODELS or mode != "pro" or duration != "5":
        return None
    if motion in _PRESETS:
        return {"type": _PRESETS[motion]}
    if motion not in _SIMPLE_AXES:
        return None
    axis, amount = _SIMPLE_AXES[motion]
    config = dict.fromkeys(("horizontal", "vertical", "pan", "tilt", "roll", "zoom"), 0.0)
    config[axis] = amount
    return {"type": "simple", "config": config}


class KlingAuth:
    """The Authorization header: a static API key, or an HS256 JWT cached until near expiry."""

    def __init__(
        self,
        *,
        access_key: str | None,
        secret_key: str | None,
        api_key: str | None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not api_key and not (access_key and secret_key):
            raise ConfigError(
                "Kling needs an API key or an access key and a secret key",
                hint="set LIVEAI_KLING_API_KEY, or LIVEAI_KLING_ACCESS_KEY and ..._SECRET_KEY",
            )
        self._access_key, self._secret_key, self._api_key = access_key, secret_key, api_key
        self._clock = clock
        self._token: str | None = None
        self._expires = 0
        self._lock = threading.Lock()

    def invalidate(self) -> bool:
        """Drop the cached JWT (after a 1003/1004); False when there is nothing to re-sign."""
        with self._lock:
            self._token = None
        return not self._api_key

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def token(self) -> str:
        import jwt  # here: start-up cost (cryptography)

        if self._api_key:
            return self._api_key
        now = int(self._clock.now().timestamp())
        with self._lock:
            if self._token is None or now >= self._expires - RESIGN_BEFORE_S:
                self._expires = now + TOKEN_LIFETIME_S
                claims = {"iss": self._access_key, "exp": self._expires, "nbf": now - 5}
                self._token = jwt.encode(claims, self._secret_key or "", algorithm="HS256")
            return self._token


def map_error(response: httpx.Response, body: Any) -> ProviderError:
    from liveai.providers.http import generic_error  # here: start-up cost (httpx)

    code = body.get("code") if isinstance(body, dict) else None
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    if not isinstance(code, int):
        return generic_error("kling", response, None, message)
    text, tag = f"{message} (code {code})", str(code)
    if code in _AUTH_CODES:
        hint = "check LIVEAI_KLING_ACCESS_KEY/SECRET_KEY or API_KEY and the account"
        return ProviderAuthError(text, provider="kling", code=tag, hint=hint)
    if code in _BALANCE_CODES:
        hint = "top up the Kling resource pack"
        return ProviderBalanceExhausted(text, provider="kling", code=tag, hint=hint)
    if code in _MODERATION_CODES:
        return ProviderRejected(f"rejected by moderation: {text}", provider="kling", code=tag)
    if code in _RATE_CODES:
        return ProviderRateLimited(text, provider="kling", code=tag)
    if code >= 5000:
        return ProviderUnavailable(text, provider="kling", code=tag)
    return ProviderError(text, provider="kling", code=tag)


class KlingProvider:
    name = "kling"

    def __init__(
        self,
        client: httpx.Client,
        *,
        auth: KlingAuth,
        base_url: str = CHINA_URL,
        model: str = MODEL,
        mode: str = "std",
        policy: CallPolicy | None = None,
    ) -> None:
        from liveai.providers.http import DEFAULT_POLICY, Transport  # here: start-up cost (httpx)

        self.region: Region = SPEC.region_at(base_url)
        self.model, self.mode = model, mode
        self.auth = auth
        self.http = Transport(
            "kling",
            client,
            base_url,
            auth=auth.headers,
            map_error=map_error,
            policy=DEFAULT_POLICY if policy is None else policy,
        )

    def result_origin(self) -> ResultOrigin:
        from liveai.providers.download import ResultOrigin  # here: start-up cost (httpx)

        return ResultOrigin(self.name, self.http.base_url, SPEC.result_hosts)

    def image_transport(self, request: VideoRequest) -> ImageTransport:
        return "url" if request.image_url else "base64"

    def payload(self, request: VideoRequest) -> Json:
        duration = str(SPEC.duration_for(request.duration_s))
        camera = camera_control(self.model, self.mode, duration, request.motion)
        prompt = request.prompt if camera else with_motion(request.prompt, request.motion)
        # Kling wants bare base64, without a data: prefix.
        image = request.image_url or base64.b64encode(request.image_jpeg).decode()
        body: Json = {
            "model_name": self.model,
            "image": image,
            "prompt": prompt[:2500],
            "mode": self.mode,
            "duration": duration,
            "external_task_id": request.task_id,
        }
        if camera:
            body["camera_control"] = camera
        return body

    def submit(self, request: VideoRequest) -> str:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        body = self._call("POST", PATH, json_body=self.payload(request), idempotent=False)
        return str(dig(body, "data", "task_id", provider=self.name))

    def poll(self, provider_task_id: str) -> ProviderStatus:
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        try:
            body = self._call("GET", f"{PATH}/{provider_task_id}")
        except ProviderError as exc:
            if type(exc) is ProviderError:  # 1201/1203: no such task
                raise ProviderUnavailable(
                    f"task {provider_task_id} is lost", provider=self.name, code="lost"
                ) from None
            raise
        data = dig(body, "data", provider=self.name)
        raw = str(dig(data, "task_status", provider=self.name))
        if raw not in _STATES:
            raise ProviderUnavailable(f"unknown task status {raw!r}", provider=self.name)
        state = _STATES[raw]
        if state is ProviderState.SUCCEEDED:
            url = dig(data, "task_result", "videos", 0, "url", provider=self.name)
            return ProviderStatus(state, provider_task_id, video_url=str(url))
        if state is ProviderState.FAILED:
            return self._failed(provider_task_id, str(data.get("task_status_msg") or ""))
        return ProviderStatus(state, provider_task_id)

    def _failed(self, provider_task_id: str, message: str) -> ProviderStatus:
        if any(word in message.lower() for word in _MODERATION_WORDS):
            raise ProviderRejected(
                f"rejected by moderation: {message}", provider=self.name, code="moderation"
            )
        return ProviderStatus(
            ProviderState.FAILED, provider_task_id, error_code="failed", error_message=message
        )

    def find(self, our_task_id: str) -> str | None:
        """Kling's task id for the generation submitted with our id as its external_task_id
        (the single-task query takes either id); None when Kling has none."""
        from liveai.providers.http import dig  # here: start-up cost (httpx)

        try:
            body = self._call("GET", f"{PATH}/{our_task_id}")
        except ProviderError as exc:
            if type(exc) is ProviderError:  # 1201/1203: no such task
                return None
            raise
        return str(dig(body, "data", "task_id", provider=self.name))

    def cancel(self, provider_task_id: str) -> bool:
        return False  # Kling has no cancel API

    def poll_delay(self, polls: int) -> float:
        """No official interval: 2 s, then 5 s after the first ten polls."""
        return 2.0 if polls < 10 else 5.0

    def check(self) -> str:
        self._call("GET", PATH, params={"pageNum": 1, "pageSize": 1})
        return f"authenticated at {self.http.base_url}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Json:
        """One call; a token refused as not yet valid or expired (clock skew) is re-signed once."""
        try:
            return self.http.call(method, path, **kwargs)
        except ProviderAuthError as exc:
            if exc.code not in ("1003", "1004") or not self.auth.invalidate():
                raise
            return self.http.call(method, path, **kwargs)


def build(
    spec: VendorSpec, settings: Settings, client: httpx.Client, policy: CallPolicy
) -> KlingProvider:
    auth = KlingAuth(
        access_key=settings.credential(ACCESS_KEY.name) or None,
        secret_key=settings.credential(SECRET_KEY.name) or None,
        api_key=settings.credential(API_KEY.name) or None,
    )
    return KlingProvider(
        client,
        auth=auth,
        base_url=spec.base_url_in(settings),
        model=spec.model_in(settings),
        mode=settings.kling_mode,
        policy=policy,
    )


SPEC = VendorSpec(
    name="kling",
    base_url=CHINA_URL,
    model=MODEL,
    durations=(5, 10),  # every image2video model: "5" or "10"
    credentials=((ACCESS_KEY, SECRET_KEY), (API_KEY,)),
    # Result videos come from Kling's CDNs (cdn.klingai.com, v*-kling.klingai.com, ...).
    result_hosts=("klingai.com",),
    build=build,
    overseas_hosts=OVERSEAS_HOSTS,
    rounds_up=True,
)
