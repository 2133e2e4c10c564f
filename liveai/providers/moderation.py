"""Moderation before anything leaves: blocked prompt terms, and an optional Qwen-VL image check.

A remote provider is wrapped in Moderated when either check is configured, so a prompt or
photo that fails is refused with ProviderRejected before the first byte goes out, and the
lifecycle fails the task (and voids its hold) instead of trying another provider.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Sequence

import httpx

from liveai.errors import ProviderError, ProviderRejected, ProviderUnavailable
from liveai.privacy.inventory_types import Region
from liveai.providers import wan
from liveai.providers.base import (
    ImageTransport,
    ProviderStatus,
    Recipient,
    VideoRequest,
)
from liveai.providers.download import ResultOrigin
from liveai.providers.http import (
    DEFAULT_POLICY,
    CallPolicy,
    Json,
    RemoteProvider,
    Transport,
    dig,
    generic_error,
)
from liveai.settings import Settings

NAME = "moderation"
# The privacy inventory discloses Alibaba Cloud (Wan and Qwen-VL) under this provider name.
QWEN_RECIPIENT = "wan"
QWEN_PATH = "/compatible-mode/v1/chat/completions"
QWEN_QUESTION = (
    "You review photos for a consumer app that animates them into short videos. Is this "
    "photo acceptable for a general audience (no nudity or sexual content, no graphic "
    "violence, no illegal activity)? Answer only with JSON: "
    '{"safe": true or false, "category": "<short label or none>"}'
)
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_terms(raw: str) -> list[str]:
    """Comma- or newline-separated terms (Chinese commas too), lowercased, blanks dropped."""
    return [t.strip().lower() for t in re.split(r"[,\n\uff0c]", raw) if t.strip()]


def blocked_terms(prompt: str, terms: Sequence[str]) -> list[str]:
    """The blocked terms a prompt holds (substring match: Chinese has no spaces)."""
    lowered = prompt.lower()
    return [term for term in terms if term in lowered]


def check_prompt(prompt: str, terms: Sequence[str]) -> None:
    """Refuse a prompt holding a blocked term."""
    hits = blocked_terms(prompt, terms)
    if hits:
        raise ProviderRejected(
            f"rejected by moderation: the prompt contains {len(hits)} blocked term(s)",
            provider=NAME,
            code="blocked_term",
            hint="rephrase the prompt",
        )


def _qwen_error(response: httpx.Response, body: object) -> ProviderError:
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code") or "") if isinstance(error, dict) else ""
    if code == "data_inspection_failed":
        return ProviderRejected(
            "rejected by moderation: the image check refused the photo", provider=NAME, code=code
        )
    return generic_error(NAME, response, code or None, code)


class QwenVLCheck:
    """Ask a Qwen-VL model (DashScope's OpenAI-compatible endpoint) whether a photo is safe."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_key: str,
        base_url: str,
        model: str,
        policy: CallPolicy = DEFAULT_POLICY,
    ) -> None:
        self.model = model
        self.recipient = Recipient(
            name=QWEN_RECIPIENT,
            region=wan.SPEC.region_at(base_url),
            items=("image",),
            transport="base64",
        )
        self.http = Transport(
            NAME,
            client,
            base_url,
            auth=lambda: {"Authorization": f"Bearer {api_key}"},
            map_error=_qwen_error,
            policy=policy,
        )

    def check(self, image_jpeg: bytes) -> None:
        image = "data:image/jpeg;base64," + base64.b64encode(image_jpeg).decode()
        content: list[Json] = [
            {"type": "image_url", "image_url": {"url": image}},
            {"type": "text", "text": QWEN_QUESTION},
        ]
        body = {"model": self.model, "messages": [{"role": "user", "content": content}]}
        answer = self.http.call("POST", QWEN_PATH, json_body=body)
        verdict = _verdict(str(dig(answer, "choices", 0, "message", "content", provider=NAME)))
        if verdict.get("safe") is not True:
            raise ProviderRejected(
                "rejected by moderation: the image check flagged the photo",
                provider=NAME,
                code=f"image:{str(verdict.get('category') or 'unsafe')[:40]}",
            )


def _verdict(text: str) -> Json:
    found = _JSON_OBJECT.search(text)
    try:
        verdict = json.loads(found.group(0)) if found else None
    except json.JSONDecodeError:
        verdict = None
    if not isinstance(verdict, dict) or not isinstance(verdict.get("safe"), bool):
        raise ProviderUnavailable(
            "the image check answered without a verdict", provider=NAME, code="malformed"
        )
    return verdict


class Moderator:
    """Both checks, remembering each task's verdict so failover does not ask again."""

    def __init__(self, terms: Sequence[str], image_check: QwenVLCheck | None = None) -> None:
        self.terms = list(terms)
        self.image_check = image_check
        self._passed: set[str] = set()
        self._lock = threading.Lock()

    def check(self, request: VideoRequest) -> None:
        with self._lock:
            if request.task_id in self._passed:
                return
        check_prompt(request.prompt, self.terms)
        if self.image_check is not None:
            self.image_check.check(request.image_jpeg)
        with self._lock:
            self._passed.add(request.task_id)

    def recipients(self, request: VideoRequest) -> list[Recipient]:
        """Who the checks send this request to: nobody when the prompt is refused locally."""
        if self.image_check is None or blocked_terms(request.prompt, self.terms):
            return []
        return [self.image_check.recipient]


class Moderated:
    """A provider whose submit runs the moderator first; everything else passes through."""

    def __init__(self, inner: RemoteProvider, moderator: Moderator) -> None:
        self.inner = inner
        self.moderator = moderator
        self.name = inner.name
        self.region: Region = inner.region

    def image_transport(self, request: VideoRequest) -> ImageTransport:
        return self.inner.image_transport(request)

    def screening_recipients(self, request: VideoRequest) -> list[Recipient]:
        return self.moderator.recipients(request)

    def screen(self, request: VideoRequest) -> None:
        self.moderator.check(request)

    def submit(self, request: VideoRequest) -> str:
        self.moderator.check(request)  # a no-op once screen() passed this task
        return self.inner.submit(request)

    def poll(self, provider_task_id: str) -> ProviderStatus:
        return self.inner.poll(provider_task_id)

    def result_origin(self) -> ResultOrigin:
        return self.inner.result_origin()

    def cancel(self, provider_task_id: str) -> bool:
        return self.inner.cancel(provider_task_id)

    def poll_delay(self, polls: int) -> float:
        return self.inner.poll_delay(polls)

    def check(self) -> str:
        return self.inner.check()


def screening_routes(provider: object) -> list[tuple[str, str | None]]:
    """The (recipient, region) that sees a photo before ``provider`` does: the image check
    of a moderated provider, none otherwise (a prompt refused locally sends nothing, so
    this is the most a task may need)."""
    if isinstance(provider, Moderated) and provider.moderator.image_check is not None:
        recipient = provider.moderator.image_check.recipient
        return [(recipient.name, recipient.region)]
    return []


def configured_screening(settings: Settings) -> list[tuple[str, str | None]]:
    """The (recipient, region) the settings' image check sends photos to, if one is
    configured: what a generation's moderation needs consent for."""
    if not settings.qwen_vl_model:
        return []
    return [(QWEN_RECIPIENT, wan.SPEC.region(settings))]
