"""The provider interface every video model implements (local renderer, Kling, Ark, Wan, fal).

A provider only translates: it turns a VideoRequest into its API's call and its API's
answers into a ProviderStatus, raising a ProviderError subclass for failures. Retries and
timeouts live in the HTTP layer (`providers/http.py`, one CallPolicy); credits, failover,
storage and persistence in the task lifecycle (`generation/lifecycle.py`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # for types only: the vendor modules import this one at every start-up
    from liveai.privacy.inventory_types import Region


class Motion(enum.StrEnum):
    STATIC = "static"
    PAN_LEFT = "pan_left"
    PAN_RIGHT = "pan_right"
    TILT_UP = "tilt_up"
    TILT_DOWN = "tilt_down"
    TRUCK_LEFT = "truck_left"
    TRUCK_RIGHT = "truck_right"
    PEDESTAL_UP = "pedestal_up"
    PEDESTAL_DOWN = "pedestal_down"
    ROLL_CW = "roll_cw"
    ROLL_CCW = "roll_ccw"
    ZOOM_IN = "zoom_in"
    ZOOM_OUT = "zoom_out"
    PUSH_IN = "push_in"
    PULL_OUT = "pull_out"
    ORBIT_LEFT = "orbit_left"
    ORBIT_RIGHT = "orbit_right"


class ProviderState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (ProviderState.SUCCEEDED, ProviderState.FAILED, ProviderState.CANCELLED)


ImageTransport = Literal["base64", "url", "local"]


@dataclass(frozen=True)
class VideoRequest:
    """What a provider needs to start one generation.

    ``image_jpeg`` is the normalised, metadata-free JPEG; ``image_url`` is a temporary
    (presigned) URL to the same bytes when storage can make one.
    """

    task_id: str
    image_jpeg: bytes
    image_url: str | None
    prompt: str
    motion: Motion
    duration_s: int
    width: int
    height: int


@dataclass(frozen=True)
class ProviderStatus:
    state: ProviderState
    provider_task_id: str
    video_url: str | None = None
    video_bytes: bytes | None = None
    error_code: str | None = None
    error_message: str | None = None


class Provider(Protocol):
    name: str
    region: Region

    def image_transport(self, request: VideoRequest) -> ImageTransport:
        """How the image will travel for this request (recorded as a data transfer)."""
        ...

    def submit(self, request: VideoRequest) -> str:
        """Start a generation; return the provider's task id.

        A resumed task may submit the same request again after a crash: where the API
        takes a client reference (Kling `external_task_id`, ...), pass ``task_id`` so the
        second submit finds the first generation instead of starting another.
        """
        ...

    def poll(self, provider_task_id: str) -> ProviderStatus:
        """The current state of a task; a result URL or bytes once it succeeded."""
        ...

    def cancel(self, provider_task_id: str) -> bool:
        """Ask the provider to stop; False when it cannot (already running, no API)."""
        ...


@runtime_checkable
class Releasable(Protocol):
    """A provider that keeps results itself (the local renderer) and can drop them."""

    def release(self, provider_task_id: str) -> None:
        """Forget a finished task's result; the lifecycle has stored its own copy."""
        ...


@runtime_checkable
class Paced(Protocol):
    """A provider with its own polling pace (the remote ones)."""

    def poll_delay(self, polls: int) -> float:
        """Seconds to wait after ``polls`` polls, per the provider's documented pace."""
        ...


@dataclass(frozen=True)
class Recipient:
    """A party other than the provider itself that a submit sends data to (a moderation API)."""

    name: str
    region: Region
    items: tuple[str, ...]
    transport: ImageTransport


@runtime_checkable
class Screened(Protocol):
    """A provider whose submit first shows the request to other recipients."""

    def screening_recipients(self, request: VideoRequest) -> Sequence[Recipient]:
        """Who will receive data from this request before the provider does."""
        ...

    def screen(self, request: VideoRequest) -> None:
        """Run the checks (moderation); raises ProviderRejected when they refuse."""
        ...
