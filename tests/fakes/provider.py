"""An in-process provider for lifecycle tests: no server, no HTTP, answers scripted with
`enqueue` (as llm's ``MockModel``).

What a test enqueues for a step ("submit", "poll", "cancel") is what that step's next
calls answer, in order; with nothing enqueued a submit starts a generation (one per task
id, as providers dedupe on it), a poll reports it running until ``polls_to_finish`` polls
have been made and then succeeded with the video's bytes, and a cancel stops it.

An answer is a fault kind (`FAULTS`: raised as the error a real client raises for it), a
ProviderError to raise, or, for a poll, a ProviderState or a ProviderStatus (its task id
filled in) to report. What the wire carries (result downloads, redirects, vendors'
formats) is for the loopback fakes.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from liveai.errors import (
    ProviderAuthError,
    ProviderBalanceExhausted,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from liveai.providers.base import (
    ImageTransport,
    ProviderState,
    ProviderStatus,
    Region,
    VideoRequest,
)
from tests.fakes.video_api import tiny_mp4

Step = Literal["submit", "poll", "cancel"]
Answer = str | ProviderError | ProviderState | ProviderStatus

# A fault kind: the error a client raises for it, given the provider's name.
FAULTS: dict[str, Callable[[str], ProviderError]] = {
    "500": lambda name: ProviderUnavailable("HTTP 500", provider=name, code="http_500"),
    "429": lambda name: ProviderRateLimited("scripted fault", provider=name, code="http_429"),
    "401": lambda name: ProviderAuthError("scripted fault", provider=name, code="http_401"),
    "402": lambda name: ProviderBalanceExhausted("scripted fault", provider=name, code="http_402"),
    "timeout": lambda name: ProviderUnavailable("timed out", provider=name, code="timeout"),
    "malformed": lambda name: ProviderUnavailable("malformed answer", provider=name),
    "lost": lambda name: ProviderUnavailable("no such task", provider=name, code="lost"),
    "reject": lambda name: ProviderRejected(
        "image refused by moderation", provider=name, code="moderation"
    ),
}


@dataclass
class _Generation:
    task_id: str
    polls: int = 0
    cancelled: bool = False


class FakeProvider:
    """A provider whose answers a test scripts; ``calls`` counts each step's calls and
    ``started`` the generations really started per task id."""

    def __init__(
        self,
        name: str,
        *,
        region: Region = "mainland_china",
        polls_to_finish: int = 1,
        video: bytes | None = None,
        third_party: bool = True,
    ) -> None:
        self.name = name
        self.region: Region = region
        self.polls_to_finish = polls_to_finish
        self.video = video if video is not None else tiny_mp4()
        self.third_party = third_party
        self.calls: Counter[str] = Counter()
        self.started: Counter[str] = Counter()
        self._answers: defaultdict[str, deque[Answer]] = defaultdict(deque)
        self._generations: dict[str, _Generation] = {}
        self._lock = threading.Lock()

    def enqueue(self, step: Step, *answers: Answer) -> None:
        """The next calls to ``step`` answer these, one each, in order."""
        for answer in answers:
            if isinstance(answer, str):
                assert answer in FAULTS, answer
        with self._lock:
            self._answers[step].extend(answers)

    def image_transport(self, request: VideoRequest) -> ImageTransport:
        return "base64"

    def submit(self, request: VideoRequest) -> str:
        self._scripted("submit")
        with self._lock:
            provider_task_id = f"{self.name}-{request.task_id}"
            if provider_task_id not in self._generations:
                self._generations[provider_task_id] = _Generation(request.task_id)
                self.started[request.task_id] += 1
        return provider_task_id

    def poll(self, provider_task_id: str) -> ProviderStatus:
        answer = self._scripted("poll")
        if isinstance(answer, ProviderStatus):
            return replace(answer, provider_task_id=provider_task_id)
        generation = self._generations.get(provider_task_id)
        if generation is None:
            raise FAULTS["lost"](self.name)
        generation.polls += 1
        state = self._state_of(generation) if answer is None else answer
        video = self.video if state is ProviderState.SUCCEEDED else None
        return ProviderStatus(state, provider_task_id, video_bytes=video)

    def cancel(self, provider_task_id: str) -> bool:
        self._scripted("cancel")
        generation = self._generations.get(provider_task_id)
        if generation is not None:
            generation.cancelled = True
        return generation is not None

    def _state_of(self, generation: _Generation) -> ProviderState:
        if generation.cancelled:
            return ProviderState.CANCELLED
        if generation.polls >= self.polls_to_finish:
            return ProviderState.SUCCEEDED
        return ProviderState.RUNNING

    def _scripted(self, step: Step) -> ProviderState | ProviderStatus | None:
        """Count the call and take its scripted answer: raise an error, return a report, or
        None for the default behaviour."""
        with self._lock:
            self.calls[step] += 1
            queue = self._answers[step]
            answer = queue.popleft() if queue else None
        if isinstance(answer, str):
            raise FAULTS[answer](self.name)
        if isinstance(answer, ProviderError):
            raise answer
        return answer
