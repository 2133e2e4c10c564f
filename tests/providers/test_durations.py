"""Which duration each vendor is asked for, for every ask from 1 to 12 seconds.

The tables are what the request builders sent before the specs declared durations, but
for a 1 s ask to Seedance (Ark, fal), which they sent as is though Seedance refuses it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from liveai.providers import ark, fal, kling, wan
from liveai.providers.kling import KlingAuth, KlingProvider
from liveai.providers.spec import delivered_duration
from liveai.providers.vendors import VENDORS
from tests.providers.helpers import video_request

ASKS = range(1, 13)
KLING = ["5"] * 5 + ["10"] * 7  # the shortest at least the ask: 6 s gets 10
SEEDANCE = [2, *range(2, 13)]  # 2 to 12 s: 1 s gets 2
WAN_5_10_15 = [5] * 7 + [10] * 5  # the nearest, ties to the shorter: 7 gets 5, 8 gets 10


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def sent(provider: object) -> list[object]:
    """The duration its request carries (Wan's among its parameters) for each ask."""
    payload = provider.payload  # type: ignore[attr-defined]
    bodies = [payload(video_request(duration_s=asked)) for asked in ASKS]
    return [body.get("parameters", body)["duration"] for body in bodies]


@pytest.mark.parametrize("model", ["kling-v2-1", "kling-v1-5"])
def test_kling_sends_5_up_to_5_s_and_10_above(client: httpx.Client, model: str) -> None:
    auth = KlingAuth(access_key="ak", secret_key="sk", api_key=None)
    assert sent(KlingProvider(client, auth=auth, model=model)) == KLING


def test_ark_sends_the_ask_within_2_to_12_s(client: httpx.Client) -> None:
    assert sent(ark.ArkProvider(client, api_key="k")) == SEEDANCE


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("wan2.6-i2v-flash", WAN_5_10_15),
        ("wan2.6-i2v", WAN_5_10_15),
        ("wan2.5-i2v-preview", WAN_5_10_15),
        ("wanx2.1-i2v-turbo", [3, 3, 3, 4] + [5] * 8),
        ("wan2.1-i2v-plus", [5] * 12),
        ("wan2.2-i2v-flash", [5] * 12),
        ("wan2.7-i2v", list(ASKS)),  # limits unknown: the ask as is
    ],
)
def test_wan_sends_the_models_duration_nearest_the_ask(
    client: httpx.Client, model: str, expected: list[int]
) -> None:
    assert sent(wan.WanProvider(client, api_key="k", model=model)) == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (fal.MODEL, KLING),
        ("fal-ai/kling-video/v2.5-turbo/pro/image-to-video", KLING),
        ("fal-ai/minimax-video/image-to-video", KLING),
        ("fal-ai/bytedance/seedance/v1/pro/image-to-video", [str(d) for d in SEEDANCE]),
        ("bytedance/seedance-2.0/image-to-video", [str(d) for d in ASKS]),  # limits unknown
    ],
)
def test_fal_sends_the_models_duration(
    client: httpx.Client, model: str, expected: list[str]
) -> None:
    assert sent(fal.FalProvider(client, api_key="k", model=model)) == expected


def test_each_default_model_is_sent_only_its_declared_durations(client: httpx.Client) -> None:
    """What the request builders send for the default models is what the specs declare."""
    assert [spec.name for spec in VENDORS] == ["kling", "ark", "wan", "fal"]
    assert set(KLING) == {str(d) for d in kling.SPEC.durations}
    assert set(SEEDANCE) == set(ark.SPEC.durations)
    assert set(WAN_5_10_15) | {15} == set(wan.SPEC.durations)
    assert wan.SPEC.durations == wan.LIMITS[wan.MODEL][1]
    assert set(KLING) == {str(d) for d in fal.SPEC.durations}


@pytest.mark.parametrize(
    ("asked", "durations", "round_up", "expected"),
    [
        (7, (5, 10), False, 5),
        (8, (5, 10), False, 10),
        (6, (5, 10), True, 10),
        (5, (5, 10), True, 5),
        (30, (5, 10), True, 10),
        (1, (5, 10), False, 5),
        (13, (5, 10, 15), False, 15),
        (9, (), False, 9),
        (9, (), True, 9),
    ],
)
def test_delivered_duration(
    asked: int, durations: tuple[int, ...], round_up: bool, expected: int
) -> None:
    assert delivered_duration(asked, durations, round_up=round_up) == expected
