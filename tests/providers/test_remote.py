"""Which providers the settings build, and `liveai providers list|check` and doctor."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from liveai.errors import NotFound
from liveai.providers.ark import ArkProvider
from liveai.providers.fal import FalProvider
from liveai.providers.kling import KlingProvider
from liveai.providers.remote import (
    build_remote_providers,
    check_providers,
    describe,
    provider_health,
)
from liveai.providers.wan import WanProvider
from liveai.settings import load_settings
from tests.conftest import Cli
from tests.providers.helpers import all_fakes, fake_env, fake_settings


@pytest.fixture
def fakes() -> Iterator[dict[str, object]]:
    with all_fakes() as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def test_nothing_configured_builds_nothing(client: httpx.Client) -> None:
    settings = load_settings()
    assert build_remote_providers(settings, client) == {}
    infos = describe(settings)
    assert [i.name for i in infos] == ["kling", "ark", "wan", "fal"]
    assert all(not i.enabled and i.reason == "no credentials" for i in infos)
    assert provider_health(settings) == (
        True,
        "no remote provider configured; the local renderer is used",
    )


def test_credentials_order_and_overseas(client: httpx.Client) -> None:
    settings = load_settings(
        kling_api_key="k",
        ark_api_key="a",
        fal_key="f",
        wan_base_url="https://dashscope-intl.aliyuncs.com",
        wan_api_key="w",
        provider_order="fal,ark",
    )
    built = build_remote_providers(settings, client)
    assert sorted(built) == ["ark", "kling"]  # wan (Singapore) and fal are overseas
    assert isinstance(built["kling"], KlingProvider) and isinstance(built["ark"], ArkProvider)
    infos = {i.name: i for i in describe(settings)}
    assert [i.name for i in describe(settings)] == ["fal", "ark", "kling", "wan"]
    assert infos["fal"].position == 1 and infos["fal"].overseas and not infos["fal"].enabled
    assert infos["wan"].region == "overseas" and "ALLOW_OVERSEAS" in infos["wan"].reason
    assert infos["kling"].reason == "not in LIVEAI_PROVIDER_ORDER"
    assert infos["ark"].enabled
    allowed = build_remote_providers(settings.model_copy(update={"allow_overseas": True}), client)
    assert isinstance(allowed["fal"], FalProvider) and isinstance(allowed["wan"], WanProvider)
    assert allowed["fal"].region == "overseas"


def test_kling_needs_both_halves_of_the_key_pair(client: httpx.Client) -> None:
    assert build_remote_providers(load_settings(kling_access_key="ak"), client) == {}
    pair = load_settings(kling_access_key="ak", kling_secret_key="s" * 32)
    assert list(build_remote_providers(pair, client)) == ["kling"]


def test_check_each_provider_against_its_fake(
    fakes: dict[str, object], client: httpx.Client
) -> None:
    settings = load_settings(**fake_settings(fakes), allow_overseas=True)
    results = check_providers(settings, client)
    assert [(r.name, r.ok) for r in results] == [(n, True) for n in ("kling", "ark", "wan", "fal")]
    bad = load_settings(**{**fake_settings(fakes), "ark_api_key": "nope"}, allow_overseas=True)
    (ark,) = check_providers(bad, client, "ark")
    assert not ark.ok and "AuthenticationError" in ark.detail
    (none,) = check_providers(load_settings(), client, "wan")
    assert not none.ok and none.detail == "no credentials configured"
    with pytest.raises(NotFound, match="kling, ark, wan, fal"):
        check_providers(settings, client, "sora")


def test_cli_list_and_check(
    cli_embedded: Cli, fakes: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in fake_env(fakes).items():
        monkeypatch.setenv(name, value)
    listed = cli_embedded("providers", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["kling"]["enabled"] and rows["kling"]["position"] == 1
    assert not rows["fal"]["enabled"] and rows["fal"]["overseas"]
    checked = cli_embedded("providers", "check", "--json")
    assert checked.exit_code == 0, checked.output
    assert [c["name"] for c in json.loads(checked.stdout)["checks"]] == [
        "kling",
        "ark",
        "wan",
        "fal",
    ]
    monkeypatch.setenv("LIVEAI_WAN_API_KEY", "wrong")
    failed = cli_embedded("providers", "check", "wan")
    assert failed.exit_code == 6
    assert "InvalidApiKey" in failed.stdout
    unknown = cli_embedded("providers", "check", "sora")
    assert unknown.exit_code == 2 and "sora" in unknown.stderr


def test_doctor_includes_the_providers(
    cli_embedded: Cli, fakes: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in fake_env(fakes).items():
        monkeypatch.setenv(name, value)
    result = cli_embedded("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["providers"]["ok"], checks["providers"]
    assert "kling: ok" in checks["providers"]["detail"]
    monkeypatch.setenv("LIVEAI_KLING_SECRET_KEY", "x" * 40)
    result = cli_embedded("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert not checks["providers"]["ok"] and "1002" in checks["providers"]["detail"]
    assert result.exit_code == 1


def test_backoff_doubles_with_jitter_is_capped_and_honours_retry_after() -> None:
    from liveai.providers.http import CallPolicy

    low = CallPolicy(base_s=1.0, max_s=10.0, rand=lambda: 0.0)
    high = CallPolicy(base_s=1.0, max_s=10.0, rand=lambda: 1.0)
    assert [low.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert [high.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert low.delay(0, retry_after=3.0) == 3.0 and low.delay(0, retry_after=99.0) == 10.0


def test_retry_after_from_the_server_is_waited(client: httpx.Client) -> None:
    from tests.fakes.fal import FakeFal
    from tests.providers.helpers import quick_policy, video_request

    policy, sleeps = quick_policy(retries=1)
    with FakeFal(keys={"k:s"}) as fake:
        provider = FalProvider(client, api_key="k:s", base_url=fake.url, policy=policy)
        fake.inject("rate_limit", "submit")
        assert provider.submit(video_request()) in fake.tasks
    assert sleeps.delays == [3.0]


def test_a_returned_url_on_another_host_is_refused(client: httpx.Client) -> None:
    from liveai.errors import ProviderUnavailable

    provider = FalProvider(client, api_key="k:s", base_url="http://127.0.0.1:9")
    provider._urls["r1"] = {"status_url": "https://elsewhere.example/r1/status"}
    with pytest.raises(ProviderUnavailable, match="outside"):
        provider.poll("r1")


def test_list_shows_models_and_endpoints_but_no_secrets(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_ARK_API_KEY", "ark-secret-value")
    monkeypatch.setenv("LIVEAI_ARK_MODEL", "doubao-seedance-1-0-lite-i2v-250428")
    result = cli_embedded("providers", "list", "--json")
    assert "ark-secret-value" not in result.stdout
    ark = next(r for r in json.loads(result.stdout) if r["name"] == "ark")
    assert ark["model"] == "doubao-seedance-1-0-lite-i2v-250428"
    assert ark["base_url"] == "https://ark.cn-beijing.volces.com/api/v3" and ark["enabled"]
    table = cli_embedded("providers", "list")
    assert table.exit_code == 0 and "kling" in table.stdout and "ark" in table.stdout
