"""Shared helpers for the remote-provider tests: a request with a real JPEG, quick retries."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from PIL import Image

from liveai.providers.base import Motion, ProviderState, ProviderStatus, VideoRequest
from liveai.providers.http import CallPolicy

NEUTRAL, RED, GREEN = (120, 130, 140), (220, 30, 30), (30, 220, 30)


def jpeg(width: int = 640, height: int = 480, colour: tuple[int, int, int] = NEUTRAL) -> bytes:
    """A real JPEG; the Qwen-VL fake calls a red one unsafe and a green one inspected."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def video_request(
    *,
    prompt: str = "a cat turns its head",
    motion: Motion = Motion.ZOOM_IN,
    duration_s: int = 5,
    image_url: str | None = None,
    task_id: str = "task-1",
    colour: tuple[int, int, int] = NEUTRAL,
) -> VideoRequest:
    return VideoRequest(
        task_id=task_id,
        image_jpeg=jpeg(colour=colour),
        image_url=image_url,
        prompt=prompt,
        motion=motion,
        duration_s=duration_s,
        width=640,
        height=480,
    )


class Sleeps:
    """A CallPolicy sleep that records delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def quick_policy(retries: int = 3) -> tuple[CallPolicy, Sleeps]:
    sleeps = Sleeps()
    return CallPolicy(retries=retries, base_s=1.0, sleep=sleeps, rand=lambda: 1.0), sleeps


@contextmanager
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def run_to_end(provider: object, task_id: str, max_polls: int = 20) -> ProviderStatus:
    """Poll until a terminal state (no sleeping: the fakes advance one step per poll)."""
    for _ in range(max_polls):
        status: ProviderStatus = provider.poll(task_id)  # type: ignore[attr-defined]
        if status.state.terminal:
            return status
        assert status.state in (ProviderState.QUEUED, ProviderState.RUNNING)
    raise AssertionError("task never finished")


KLING_AK, KLING_SK = "ak-live", "sk-live-0123456789abcdef0123456789abcdef"
ARK_KEY, WAN_KEY, FAL_KEY = "ark-key-1", "sk-wan-1", "fal-id:fal-secret"


@contextmanager
def all_fakes() -> Iterator[dict[str, object]]:
    """The four fakes running, keyed by provider name."""
    from tests.fakes.ark import FakeArk
    from tests.fakes.fal import FakeFal
    from tests.fakes.kling import FakeKling
    from tests.fakes.wan import FakeWan

    with (
        FakeKling(access_keys={KLING_AK: KLING_SK}) as kling,
        FakeArk(api_keys={ARK_KEY}) as ark,
        FakeWan(api_keys={WAN_KEY}) as wan,
        FakeFal(keys={FAL_KEY}) as fal,
    ):
        yield {"kling": kling, "ark": ark, "wan": wan, "fal": fal}


def fake_settings(fakes: dict[str, object]) -> dict[str, object]:
    """Settings (as keyword overrides) pointing every provider at its fake, with credentials."""
    url = {name: fake.url for name, fake in fakes.items()}  # type: ignore[attr-defined]
    return {
        "kling_base_url": url["kling"],
        "kling_access_key": KLING_AK,
        "kling_secret_key": KLING_SK,
        "ark_base_url": url["ark"] + "/api/v3",
        "ark_api_key": ARK_KEY,
        "wan_base_url": url["wan"],
        "wan_api_key": WAN_KEY,
        "fal_base_url": url["fal"],
        "fal_key": FAL_KEY,
        "provider_retries": 0,
        "provider_http_timeout_s": 2.0,
    }


def fake_env(fakes: dict[str, object]) -> dict[str, str]:
    return {f"LIVEAI_{k.upper()}": str(v) for k, v in fake_settings(fakes).items()}
