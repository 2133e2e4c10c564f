"""liveai auth ... and the doctor's identity check, against loopback Logto and Apple."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from liveai.identity.cipher import TokenCipher
from tests.conftest import Cli
from tests.fakes.apple_id import FakeAppleId
from tests.fakes.logto import FakeLogto
from tests.identity.helpers import (
    BUNDLE_ID,
    NOW,
    apple_claims,
    apple_key,
    logto_claims,
    logto_key,
    p256_key,
    ts,
)

SIWA_KEY = p256_key("siwa")
# The CLI runs on the system clock: tokens are valid from now on.
FAR = {"exp": ts(NOW.replace(year=2100)), "iat": ts(NOW.replace(year=2020))}


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeLogto, FakeAppleId]]:
    apple = FakeAppleId(
        team_id="TEAM123456",
        key_id="KEY1234567",
        client_ids={BUNDLE_ID},
        secret_key_pem=SIWA_KEY.public_pem,
    )
    with FakeLogto() as logto, apple:
        logto.jwks = [logto_key().jwk()]
        apple.jwks = [apple_key().jwk(with_alg=True)]
        yield logto, apple


@pytest.fixture
def configured(fakes: tuple[FakeLogto, FakeAppleId], monkeypatch: pytest.MonkeyPatch) -> None:
    logto, apple = fakes
    env = {
        "LIVEAI_LOGTO_ISSUER": logto.issuer,
        "LIVEAI_LOGTO_AUDIENCE": "https://api.live.ai",
        "LIVEAI_APPLE_JWKS_URL": f"{apple.url}/auth/keys",
        "LIVEAI_APPLE_AUDIENCES": BUNDLE_ID,
        "LIVEAI_SIWA_URL": apple.url,
        "LIVEAI_SIWA_TEAM_ID": "TEAM123456",
        "LIVEAI_SIWA_KEY_ID": "KEY1234567",
        "LIVEAI_SIWA_PRIVATE_KEY": SIWA_KEY.private_pem,
        "LIVEAI_SIWA_TOKEN_KEYS": TokenCipher.generate_key(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _logto_token(fakes: tuple[FakeLogto, FakeAppleId], **claims: object) -> str:
    return logto_key().sign(logto_claims(fakes[0].issuer, **{**FAR, **claims}))


def test_verify_then_bind(cli: Cli, configured: None, fakes: tuple[FakeLogto, FakeAppleId]) -> None:
    token = _logto_token(fakes)
    shown = cli("auth", "verify", token, "--json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    assert report["user"] is None
    assert report["token"]["subject"] == "u_logto1"
    assert report["token"]["scopes"] == ["credits:read", "credits:spend"]
    bound = cli("auth", "bind", "-", "--name", "Ann", "--json", input=token + "\n")
    assert bound.exit_code == 0, bound.output
    created = json.loads(bound.stdout)
    assert created["created"] is True and created["user"]["display_name"] == "Ann"
    again = json.loads(cli("auth", "bind", token, "--json").stdout)
    assert again["created"] is False and again["user"]["id"] == created["user"]["id"]
    plain = cli("auth", "verify", "-", input=token)
    assert created["user"]["id"] in plain.stdout


def test_rejections_exit_4_with_the_reason(
    cli: Cli, configured: None, fakes: tuple[FakeLogto, FakeAppleId]
) -> None:
    expired = _logto_token(fakes, exp=ts(NOW.replace(year=2021)))
    result = cli("auth", "verify", expired)
    assert result.exit_code == 4
    assert "error: expired at 2021-11-28T12:00:00+00:00" in result.stderr
    assert cli("auth", "bind", "not-a-token").exit_code == 4
    tampered = cli("auth", "verify", _logto_token(fakes)[:-4] + "AAAA")
    assert tampered.exit_code == 4 and "bad signature" in tampered.stderr


def test_apple_exchange_and_revoke(
    cli: Cli, configured: None, fakes: tuple[FakeLogto, FakeAppleId]
) -> None:
    _, apple = fakes
    assert cli("auth", "bind", _logto_token(fakes, sub="u_apple_cli")).exit_code == 0
    id_token = apple_key().sign(apple_claims(sub="apple-cli", **FAR))
    refresh = apple.add_code("cli-code", client_id=BUNDLE_ID, id_token=id_token)
    exchanged = cli(
        "auth", "apple-exchange", "-", "--user", "u_apple_cli", "--json", input="cli-code"
    )
    assert exchanged.exit_code == 0, exchanged.output
    assert json.loads(exchanged.stdout)["client_id"] == BUNDLE_ID
    reused = cli("auth", "apple-exchange", "cli-code", "--user", "u_apple_cli")
    assert reused.exit_code == 4 and "invalid_grant" in reused.stderr
    assert cli("auth", "apple-revoke", "u_apple_cli").exit_code == 1  # no terminal, no --yes
    revoked = cli("auth", "apple-revoke", "apple-cli", "--yes")
    assert revoked.exit_code == 0, revoked.output
    assert "revoked 1" in revoked.stderr and apple.revoked[-1] == refresh
    nothing = cli("auth", "apple-revoke", "u_apple_cli", "--yes")
    assert "revoke in Settings" in nothing.stderr


def test_unconfigured_commands_say_what_to_set(cli: Cli) -> None:
    result = cli("auth", "verify", "a.b.c")
    assert result.exit_code == 1 and "LIVEAI_LOGTO_ISSUER" in result.stderr
    exchange = cli("auth", "apple-exchange", "code", "--user", "x")
    assert exchange.exit_code == 1 and "LIVEAI_SIWA_TEAM_ID" in exchange.stderr


def test_doctor_checks_both_key_sets(
    cli_embedded: Cli, configured: None, fakes: tuple[FakeLogto, FakeAppleId]
) -> None:
    report = json.loads(cli_embedded("doctor", "--json").stdout)
    identity = next(c for c in report["checks"] if c["name"] == "identity")
    assert identity["ok"] is True
    assert "logto: 1 keys" in identity["detail"] and "apple: 1 keys" in identity["detail"]
    fakes[1].fail("keys", 500)
    failed = cli_embedded("doctor", "--json")
    assert failed.exit_code == 1
    identity = next(c for c in json.loads(failed.stdout)["checks"] if c["name"] == "identity")
    assert identity["ok"] is False and "apple: the apple key set" in identity["detail"]
