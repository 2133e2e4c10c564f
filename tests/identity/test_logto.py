"""The Logto Management API client against a loopback Logto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from liveai.clock import FixedClock
from liveai.errors import ConfigError, NotFound, UpstreamError
from liveai.identity.logto import LogtoManagement
from liveai.settings import Settings
from tests.fakes.logto import FakeLogto


@pytest.fixture
def logto() -> Iterator[FakeLogto]:
    with FakeLogto() as server:
        server.users["u_1"] = {"id": "u_1", "primaryEmail": "a@b.cn", "identities": {}}
        server.users["u/2"] = {"id": "u/2"}
        yield server


@pytest.fixture
def api(logto: FakeLogto, clock: FixedClock) -> Iterator[LogtoManagement]:
    with httpx.Client(timeout=2.0) as http:
        settings = Settings(
            logto_issuer=logto.issuer, logto_m2m_app_id="m2m-app", logto_m2m_app_secret="m2m-secret"
        )
        yield LogtoManagement.from_settings(settings, http=http, clock=clock)


def test_get_user_with_a_cached_m2m_token(
    api: LogtoManagement, logto: FakeLogto, clock: FixedClock
) -> None:
    assert api.get_user("u_1")["primaryEmail"] == "a@b.cn"
    assert api.get_user("u/2") == {"id": "u/2"}  # the id is escaped into the path
    assert api.token_fetches == 1
    token_form = next(r.form for r in logto.requests if r.path == "/oidc/token")
    assert token_form == {
        "grant_type": "client_credentials",
        "resource": "https://default.logto.app/api",
        "scope": "all",
    }
    clock.advance(timedelta(seconds=3600 - 60))  # within a minute of expiry: refetch
    api.get_user("u_1")
    assert api.token_fetches == 2


def test_delete_user_and_404_means_already_gone(api: LogtoManagement, logto: FakeLogto) -> None:
    assert api.delete_user("u_1") is True
    assert "u_1" not in logto.users
    assert api.delete_user("u_1") is False
    with pytest.raises(NotFound, match="Logto has no user 'u_1'"):
        api.get_user("u_1")


def test_a_401_refetches_the_token_once(api: LogtoManagement, logto: FakeLogto) -> None:
    api.get_user("u_1")
    logto.revoke_all_tokens()
    assert api.delete_user("u_1") is True
    assert api.token_fetches == 2
    logto.fail("token", 200)  # the next token fetch answers 200 with a fault body
    logto.revoke_all_tokens()
    with pytest.raises(UpstreamError, match="no access_token"):
        api.get_user("u/2")


def test_refused_credentials(logto: FakeLogto, clock: FixedClock) -> None:
    with httpx.Client(timeout=2.0) as http:
        api = LogtoManagement(
            issuer=logto.issuer, app_id="m2m-app", app_secret="wrong", http=http, clock=clock
        )
        with pytest.raises(UpstreamError, match="HTTP 400 invalid_client"):
            api.get_user("u_1")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (503, "Management API failed: HTTP 503"),
        (403, "forbids this"),
        ("malformed", "not a JSON object"),
        ("drop", "unreachable"),
    ],
)
def test_management_api_faults(
    api: LogtoManagement, logto: FakeLogto, fault: int | str, reason: str
) -> None:
    logto.fail("users", fault)
    with pytest.raises(UpstreamError, match=reason):
        api.get_user("u_1")


def test_configuration_is_checked(clock: FixedClock) -> None:
    with httpx.Client() as http:
        with pytest.raises(ConfigError, match="not configured"):
            LogtoManagement.from_settings(Settings(), http=http)
        with pytest.raises(ConfigError, match="end in /oidc"):
            LogtoManagement(issuer="https://auth.example", app_id="a", app_secret="s", http=http)
        with pytest.raises(ConfigError, match="https"):
            LogtoManagement(
                issuer="http://auth.example/oidc", app_id="a", app_secret="s", http=http
            )
