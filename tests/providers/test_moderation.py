"""Moderation before anything leaves: blocked prompt terms and the Qwen-VL image check."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from liveai.errors import ConfigError, ProviderRejected, ProviderUnavailable
from liveai.providers.http import CallPolicy
from liveai.providers.moderation import (
    Moderated,
    Moderator,
    QwenVLCheck,
    check_prompt,
    parse_terms,
)
from liveai.providers.remote import build_moderator, build_remote_providers
from liveai.providers.wan import WanProvider
from liveai.settings import load_settings
from tests.fakes.wan import FakeWan
from tests.providers.helpers import GREEN, RED, run_to_end, video_request

KEY = "sk-dashscope"


@pytest.fixture
def fake() -> Iterator[FakeWan]:
    with FakeWan(api_keys={KEY}) as server:
        yield server


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def _qwen(fake: FakeWan, client: httpx.Client, key: str = KEY) -> QwenVLCheck:
    return QwenVLCheck(
        client, api_key=key, base_url=fake.url, model="qwen-vl-max", policy=CallPolicy(0)
    )


def test_blocked_terms_in_chinese_and_english() -> None:
    terms = parse_terms("Gore, 血腥\n暴力\uff0c  ")
    assert terms == ["gore", "血腥", "暴力"]
    check_prompt("a calm lake at dawn", terms)
    for prompt in ("some GORE here", "一个血腥的场景"):
        with pytest.raises(ProviderRejected) as raised:
            check_prompt(prompt, terms)
        assert raised.value.code == "blocked_term" and not raised.value.retryable
        assert "GORE" not in str(raised.value) and "血腥" not in str(raised.value)


def test_qwen_vl_verdicts(fake: FakeWan, client: httpx.Client) -> None:
    check = _qwen(fake, client)
    check.check(video_request().image_jpeg)
    with pytest.raises(ProviderRejected) as unsafe:
        check.check(video_request(colour=RED).image_jpeg)
    assert unsafe.value.code == "image:violence"
    with pytest.raises(ProviderRejected) as inspected:
        check.check(video_request(colour=GREEN).image_jpeg)
    assert inspected.value.code == "data_inspection_failed"
    sent = fake.requests_to("/compatible-mode")[0]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["messages"][0]["content"][0]["image_url"]["url"].startswith(
        "data:image/jpeg;base64,"
    )


def test_qwen_vl_faults_are_not_verdicts(fake: FakeWan, client: httpx.Client) -> None:
    fake.inject("malformed", "qwen")
    with pytest.raises(ProviderUnavailable):
        _qwen(fake, client).check(video_request().image_jpeg)
    with pytest.raises(Exception, match="401"):
        _qwen(fake, client, key="wrong").check(video_request().image_jpeg)


def test_moderated_provider_refuses_before_anything_leaves(
    fake: FakeWan, client: httpx.Client
) -> None:
    inner = WanProvider(client, api_key=KEY, base_url=fake.url, policy=CallPolicy(0))
    moderated = Moderated(inner, Moderator(["gore"], _qwen(fake, client)))
    with pytest.raises(ProviderRejected):
        moderated.submit(video_request(prompt="gore everywhere"))
    assert fake.requests == []  # not even the image check was asked
    with pytest.raises(ProviderRejected):
        moderated.submit(video_request(colour=RED, task_id="red"))
    assert [r.path for r in fake.requests] == ["/compatible-mode/v1/chat/completions"]
    task_id = moderated.submit(video_request(task_id="ok"))
    moderated.submit(video_request(task_id="ok"))  # a resubmit is not checked twice
    assert len(fake.requests_to("/compatible-mode")) == 2
    assert run_to_end(moderated, task_id).video_url
    assert moderated.name == "wan" and moderated.region == "mainland_china"


def test_settings_build_the_moderator(fake: FakeWan, client: httpx.Client) -> None:
    assert build_moderator(load_settings(), client) is None
    with pytest.raises(ConfigError, match="LIVEAI_WAN_API_KEY"):
        build_moderator(load_settings(qwen_vl_model="qwen-vl-max"), client)
    settings = load_settings(
        blocked_terms="gore", wan_api_key=KEY, wan_base_url=fake.url, qwen_vl_model="qwen-vl-max"
    )
    providers = build_remote_providers(settings, client)
    assert isinstance(providers["wan"], Moderated)
    with pytest.raises(ProviderRejected):
        providers["wan"].submit(video_request(prompt="GORE"))
