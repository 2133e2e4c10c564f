from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from liveai.clock import FixedClock
from liveai.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderBalanceExhausted,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from liveai.providers.base import Motion, ProviderState
from liveai.providers.kling import GLOBAL_URL, KlingAuth, KlingProvider, camera_control
from tests.fakes.kling import FakeKling
from tests.fakes.video_api import TRIGGER_WORD
from tests.providers.helpers import quick_policy, run_to_end, video_request

AK, SK = "ak-test", "sk-test-secret-0123456789abcdef-0123456789"
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def fake(clock: FixedClock) -> Iterator[FakeKling]:
    with FakeKling(
        access_keys={AK: SK}, api_keys={"api-key-kling-1"}, now=lambda: clock.now().timestamp()
    ) as server:
        yield server


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def make(
    fake: FakeKling,
    client: httpx.Client,
    clock: FixedClock,
    timeout_s: float = 2.0,
    model: str = "kling-v2-1",
    mode: str = "std",
) -> KlingProvider:
    policy, _ = quick_policy()
    auth = KlingAuth(access_key=AK, secret_key=SK, api_key=None, clock=clock)
    return KlingProvider(
        client,
        auth=auth,
        base_url=fake.url,
        model=model,
        mode=mode,
        policy=replace(policy, timeout_s=timeout_s),
    )


def test_full_generation_with_jwt(fake: FakeKling, client: httpx.Client, clock: FixedClock) -> None:
    provider = make(fake, client, clock)
    task_id = provider.submit(video_request())
    status = run_to_end(provider, task_id)
    assert status.state is ProviderState.SUCCEEDED
    video = client.get(status.video_url or "").content
    assert video[4:8] == b"ftyp"
    sent = fake.requests_to("/v1/videos/image2video", "POST")[0].body
    assert base64.b64decode(sent["image"])[:2] == b"\xff\xd8"  # bare base64 of the JPEG
    assert sent["duration"] == "5" and sent["external_task_id"] == "task-1"
    assert "camera_control" not in sent and "zooms in" in sent["prompt"]
    claims = jwt.decode(
        fake.tokens_seen[0],
        SK,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert claims["iss"] == AK and claims["exp"] - claims["nbf"] == 1805


def test_token_is_cached_and_resigned_before_expiry(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    provider = make(fake, client, clock)
    provider.check()
    clock.advance(timedelta(minutes=20))
    provider.check()
    assert fake.tokens_seen[0] == fake.tokens_seen[1]
    clock.advance(timedelta(minutes=6))  # within 5 minutes of expiry: re-signed
    provider.check()
    assert fake.tokens_seen[2] != fake.tokens_seen[1]
    assert [r.path for r in fake.requests] == ["/v1/videos/image2video"] * 3


def test_expired_and_foreign_tokens_are_auth_errors(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    provider = make(fake, client, clock)
    provider.check()
    fake.now = lambda: clock.now().timestamp() + 3600  # the server's clock is an hour ahead
    with pytest.raises(ProviderAuthError) as expired:
        provider.check()
    assert expired.value.code == "1004" and not expired.value.retryable
    assert len(fake.tokens_seen) == 3  # the check, then the refused call and its one re-sign
    fake.now = lambda: clock.now().timestamp()
    clock.advance(timedelta(minutes=40))  # our cache thinks it is fresh; the server disagrees
    provider.auth._expires += 3600
    assert "authenticated" in provider.check()  # re-signed once after the 1004
    stranger = KlingAuth(access_key="other", secret_key=SK, api_key=None, clock=clock)
    other = KlingProvider(client, auth=stranger, base_url=fake.url)
    with pytest.raises(ProviderAuthError, match="1002"):
        other.check()


def test_static_api_key(fake: FakeKling, client: httpx.Client) -> None:
    auth = KlingAuth(access_key=None, secret_key=None, api_key="api-key-kling-1")
    provider = KlingProvider(client, auth=auth, base_url=fake.url)
    assert "authenticated" in provider.check()
    assert fake.tokens_seen == ["api-key-kling-1"]
    with pytest.raises(ConfigError, match="LIVEAI_KLING_API_KEY"):
        KlingAuth(access_key=AK, secret_key=None, api_key=None)


def test_camera_control_only_where_the_model_supports_it(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    assert camera_control("kling-v1-5", "pro", "5", Motion.PAN_LEFT) == {
        "type": "simple",
        "config": {"horizontal": 0, "vertical": 0, "pan": -5, "tilt": 0, "roll": 0, "zoom": 0},
    }
    assert camera_control("kling-v1-5", "pro", "5", Motion.PULL_OUT) == {"type": "down_back"}
    assert camera_control("kling-v1-5", "pro", "5", Motion.STATIC) is None
    assert camera_control("kling-v1-5", "std", "5", Motion.PAN_LEFT) is None
    provider = make(fake, client, clock, model="kling-v1-5", mode="pro")
    for motion in Motion:  # the fake validates each camera_control as Kling does
        run_to_end(provider, provider.submit(video_request(motion=motion, task_id=motion.value)))
    bodies = {r.body["external_task_id"]: r.body for r in fake.requests_to("/v1", "POST")}
    assert bodies["zoom_in"]["camera_control"]["config"]["zoom"] == -5
    assert bodies["zoom_in"]["prompt"] == "a cat turns its head"
    assert "camera_control" not in bodies["static"]
    assert "static camera" in bodies["static"]["prompt"]
    assert "orbits" in bodies["orbit_left"]["prompt"]


def test_url_transport_sends_the_url(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    provider = make(fake, client, clock)
    request = video_request(image_url="https://storage.example/tmp/x.jpg?sig=1")
    assert provider.image_transport(request) == "url"
    assert provider.image_transport(video_request()) == "base64"
    provider.submit(request)
    assert fake.requests[0].body["image"] == "https://storage.example/tmp/x.jpg?sig=1"


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("auth", ProviderAuthError, "1000"),
        ("balance", ProviderBalanceExhausted, "1102"),
        ("moderation", ProviderRejected, "1301"),
    ],
)
def test_final_errors_are_typed_and_not_retried(
    fake: FakeKling,
    client: httpx.Client,
    clock: FixedClock,
    fault: str,
    error: type[ProviderError],
    code: str,
) -> None:
    fake.inject(fault, "submit")
    with pytest.raises(error) as raised:
        make(fake, client, clock).submit(video_request())
    assert raised.value.code == code and not raised.value.retryable
    assert len(fake.requests) == 1


@pytest.mark.parametrize("fault", ["500", "503", "rate_limit", "concurrency"])
def test_transient_errors_are_retried_with_backoff(
    fake: FakeKling, client: httpx.Client, clock: FixedClock, fault: str
) -> None:
    policy, sleeps = quick_policy(retries=3)
    auth = KlingAuth(access_key=AK, secret_key=SK, api_key=None, clock=clock)
    provider = KlingProvider(client, auth=auth, base_url=fake.url, policy=policy)
    fake.inject(fault, "submit", times=2)
    task_id = provider.submit(video_request())
    assert task_id in fake.tasks
    assert sleeps.delays == [1.0, 2.0]


def test_retries_give_up_with_a_retryable_error(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    fake.inject("rate_limit", "poll", times=5)
    provider = make(fake, client, clock)
    task_id = provider.submit(video_request())
    with pytest.raises(ProviderRateLimited) as raised:
        provider.poll(task_id)
    assert raised.value.retryable and raised.value.code == "1302"
    assert len(fake.requests_to("/v1/videos/image2video/")) == 4  # 1 + 3 retries


def test_timeout_on_create_is_not_blindly_retried(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    provider = make(fake, client, clock, timeout_s=0.3)
    fake.inject("timeout", "submit")
    with pytest.raises(ProviderUnavailable) as raised:
        provider.submit(video_request())
    assert raised.value.code == "timeout" and raised.value.retryable
    assert len(fake.requests_to("/v1", "POST")) == 1
    task_id = provider.submit(video_request(task_id="task-2"))
    fake.inject("timeout", "poll")
    assert provider.poll(task_id).state is ProviderState.QUEUED  # a GET is retried


def test_malformed_answer_is_unavailable(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    policy, _ = quick_policy(retries=0)
    auth = KlingAuth(access_key=AK, secret_key=SK, api_key=None, clock=clock)
    provider = KlingProvider(client, auth=auth, base_url=fake.url, policy=policy)
    fake.inject("malformed", "submit")
    with pytest.raises(ProviderUnavailable) as raised:
        provider.submit(video_request())
    assert raised.value.code == "malformed"


def test_trigger_prompt_is_rejected_at_submit(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    with pytest.raises(ProviderRejected, match="moderation"):
        make(fake, client, clock).submit(video_request(prompt=f"a {TRIGGER_WORD}"))
    assert fake.tasks == {}


def test_moderation_after_submit_and_lost_and_failed_tasks(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    provider = make(fake, client, clock)
    fake.inject("moderation_later", "submit")
    moderated = provider.submit(video_request(task_id="a"))
    with pytest.raises(ProviderRejected):
        run_to_end(provider, moderated)
    fake.inject("lost", "submit")
    lost = provider.submit(video_request(task_id="b"))
    with pytest.raises(ProviderUnavailable) as raised:
        provider.poll(lost)
    assert raised.value.code == "lost"
    fake.inject("failed", "submit")
    failed = run_to_end(provider, provider.submit(video_request(task_id="c")))
    assert failed.state is ProviderState.FAILED and failed.error_message
    assert provider.cancel(failed.provider_task_id) is False


def test_region_follows_the_base_url(client: httpx.Client) -> None:
    auth = KlingAuth(access_key=None, secret_key=None, api_key="k")
    assert KlingProvider(client, auth=auth).region == "mainland_china"
    assert KlingProvider(client, auth=auth, base_url=GLOBAL_URL).region == "overseas"


def test_unknown_status_code_maps_by_http_status(
    fake: FakeKling, client: httpx.Client, clock: FixedClock
) -> None:
    with pytest.raises(ProviderError) as raised:
        make(fake, client, clock).http.call("GET", "/nowhere")
    assert type(raised.value) is ProviderError and "404" in str(raised.value)
