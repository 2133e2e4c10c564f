"""What every remote provider must do against its fake, over real HTTP: the same contract."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from liveai.errors import (
    ProviderAuthError,
    ProviderBalanceExhausted,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from liveai.providers.ark import ArkProvider
from liveai.providers.base import ProviderState
from liveai.providers.fal import FalProvider
from liveai.providers.http import CallPolicy, RemoteProvider
from liveai.providers.kling import KlingAuth, KlingProvider
from liveai.providers.wan import WanProvider
from tests.fakes.ark import FakeArk
from tests.fakes.fal import FakeFal
from tests.fakes.kling import FakeKling
from tests.fakes.video_api import TRIGGER_WORD, FakeVideoApi
from tests.providers.helpers import Sleeps, run_to_end, video_request

KLING_SK = "kling-secret-0123456789abcdef0123456789"


class MakeProvider(Protocol):
    def __call__(self, p: CallPolicy, t: float = ..., c: int = ...) -> RemoteProvider: ...


@dataclass
class Harness:
    fake: FakeVideoApi
    make: MakeProvider


def _kling(client: httpx.Client) -> Harness:
    fake = FakeKling(access_keys={"ak": KLING_SK})
    auth = KlingAuth(access_key="ak", secret_key=KLING_SK, api_key=None)
    return Harness(
        fake,
        lambda p, t=2.0, c=4: KlingProvider(
            client, auth=auth, base_url=fake.url, policy=replace(p, timeout_s=t, max_concurrency=c)
        ),
    )


def _ark(client: httpx.Client) -> Harness:
    fake = FakeArk(api_keys={"ark-key"})
    base = fake.url + "/api/v3"
    return Harness(
        fake,
        lambda p, t=2.0, c=4: ArkProvider(
            client,
            api_key="ark-key",
            base_url=base,
            policy=replace(p, timeout_s=t, max_concurrency=c),
        ),
    )


def _wan(client: httpx.Client) -> Harness:
    from tests.fakes.wan import FakeWan

    fake = FakeWan(api_keys={"sk-wan"})
    return Harness(
        fake,
        lambda p, t=2.0, c=4: WanProvider(
            client,
            api_key="sk-wan",
            base_url=fake.url,
            policy=replace(p, timeout_s=t, max_concurrency=c),
        ),
    )


def _fal(client: httpx.Client) -> Harness:
    fake = FakeFal(keys={"id:secret"})
    return Harness(
        fake,
        lambda p, t=2.0, c=4: FalProvider(
            client,
            api_key="id:secret",
            base_url=fake.url,
            policy=replace(p, timeout_s=t, max_concurrency=c),
        ),
    )


BUILDERS = {"kling": _kling, "ark": _ark, "wan": _wan, "fal": _fal}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


@pytest.fixture(params=sorted(BUILDERS))
def harness(request: pytest.FixtureRequest, client: httpx.Client) -> Iterator[Harness]:
    built = BUILDERS[request.param](client)
    with built.fake:
        yield built


def _policy(retries: int = 3) -> tuple[CallPolicy, Sleeps]:
    sleeps = Sleeps()
    return CallPolicy(retries=retries, base_s=0.5, sleep=sleeps, rand=lambda: 0.0), sleeps


def test_full_generation_serves_a_real_mp4(harness: Harness, client: httpx.Client) -> None:
    provider = harness.make(_policy()[0])
    task_id = provider.submit(video_request())
    status = run_to_end(provider, task_id)
    assert status.state is ProviderState.SUCCEEDED and status.provider_task_id == task_id
    response = client.get(status.video_url or "")
    assert response.headers["content-type"] == "video/mp4"
    import av

    with av.open(__import__("io").BytesIO(response.content)) as container:
        assert container.streams.video[0].frames == 8
    assert "authenticated" in provider.check()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("auth", ProviderAuthError),
        ("balance", ProviderBalanceExhausted),
        ("moderation", ProviderRejected),
    ],
)
def test_final_faults_are_typed_and_sent_once(
    harness: Harness, fault: str, error: type[ProviderError]
) -> None:
    harness.fake.inject(fault, "submit")
    with pytest.raises(error) as raised:
        harness.make(_policy()[0]).submit(video_request())
    assert not raised.value.retryable and raised.value.provider
    assert len(harness.fake.requests) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("500", ProviderUnavailable),
        ("503", ProviderUnavailable),
        ("rate_limit", ProviderRateLimited),
        ("malformed", ProviderUnavailable),
        ("timeout", ProviderUnavailable),
    ],
)
def test_transient_faults_are_retried_then_raised_as_retryable(
    harness: Harness, fault: str, error: type[ProviderError]
) -> None:
    policy, sleeps = _policy(retries=2)
    # A normal answer must beat the timeout even on a loaded machine; a held one never does.
    provider = harness.make(policy, 1.0 if fault == "timeout" else 2.0)
    task_id = provider.submit(video_request())
    harness.fake.inject(fault, "poll", times=2)
    assert provider.poll(task_id).state is ProviderState.QUEUED  # two failures, then it answers
    if isinstance(provider, FalProvider) and fault == "rate_limit":
        assert sleeps.delays == [3.0, 3.0]  # the fake's Retry-After: 3 wins over the backoff
    else:
        assert sleeps.delays == [0.25, 0.5]  # backoff doubles (jitter at its floor here)
    harness.fake.inject(fault, "poll", times=3)
    with pytest.raises(error) as raised:
        provider.poll(task_id)
    assert raised.value.retryable


def test_moderation_after_submit_is_a_rejection(harness: Harness) -> None:
    provider = harness.make(_policy()[0])
    harness.fake.inject("moderation_later", "submit")
    task_id = provider.submit(video_request())
    with pytest.raises(ProviderRejected, match="moderation") as raised:
        run_to_end(provider, task_id)
    assert not raised.value.retryable


def test_trigger_prompt_is_rejected(harness: Harness) -> None:
    provider = harness.make(_policy()[0])
    with pytest.raises(ProviderRejected):
        run_to_end(provider, provider.submit(video_request(prompt=f"two {TRIGGER_WORD}")))


def test_lost_task_is_retryable_elsewhere(harness: Harness) -> None:
    provider = harness.make(_policy(retries=0)[0])
    harness.fake.inject("lost", "submit")
    task_id = provider.submit(video_request())
    with pytest.raises(ProviderUnavailable) as raised:
        provider.poll(task_id)
    assert raised.value.code == "lost" and raised.value.retryable


def test_failed_task_reports_its_reason(harness: Harness) -> None:
    provider = harness.make(_policy()[0])
    harness.fake.inject("failed", "submit")
    status = run_to_end(provider, provider.submit(video_request()))
    assert status.state is ProviderState.FAILED and status.error_code


def test_cancel_where_the_api_allows_it(harness: Harness) -> None:
    provider = harness.make(_policy()[0])
    queued = provider.submit(video_request(task_id="q"))
    running = provider.submit(video_request(task_id="r"))
    provider.poll(running)
    provider.poll(running)
    if isinstance(provider, KlingProvider):
        assert provider.cancel(queued) is False  # Kling has no cancel API
        return
    assert provider.cancel(queued) is True
    if isinstance(provider, FalProvider):  # fal cancels a running request too, not a finished one
        run_to_end(provider, running)
    assert provider.cancel(running) is False
    if not isinstance(provider, FalProvider):
        assert provider.poll(queued).state is ProviderState.CANCELLED


def test_nothing_leaks_the_image_into_urls(harness: Harness) -> None:
    provider = harness.make(_policy()[0])
    run_to_end(provider, provider.submit(video_request()))
    assert all(len(r.path) < 200 and not r.query.get("image") for r in harness.fake.requests)


def test_concurrency_is_capped_per_provider(harness: Harness) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def peak(limit: int) -> int:
        provider = harness.make(_policy()[0], 5.0, limit)
        task_id = provider.submit(video_request(task_id=f"c{limit}"))
        harness.fake.delay_s, harness.fake.max_in_flight = 0.2, 0
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda _: provider.poll(task_id), range(6)))
        harness.fake.delay_s = 0.0
        return harness.fake.max_in_flight

    assert peak(2) <= 2
    assert peak(6) > 2  # the same load without the cap does overlap


def test_each_providers_video_becomes_a_live_photo_pair(
    harness: Harness, client: httpx.Client, tmp_path: Path
) -> None:
    """`generate --live-photo` pairs whatever a provider served: its MP4, as downloaded."""
    from liveai.livephoto import inspect, make_pair

    provider = harness.make(_policy()[0])
    status = run_to_end(provider, provider.submit(video_request()))
    served = tmp_path / "served.mp4"
    served.write_bytes(client.get(status.video_url or "").content)
    pair = make_pair(served, None, tmp_path / "lp")
    assert (pair.still.suffix, pair.video.suffix) == (".HEIC", ".MOV")
    assert inspect([pair.still, pair.video]).ok
