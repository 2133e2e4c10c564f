"""The device registry: register, refresh, move, remove; and `liveai devices`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.clock import FixedClock
from liveai.errors import InvalidInput, NotFound
from liveai.models import ApnsEnvironment, AuditEvent, Device
from liveai.push import (
    forget_invalid_token,
    list_devices,
    normalise_token,
    register_device,
    remove_device,
)
from liveai.users import create_user
from tests.conftest import Cli
from tests.push.helpers import device_token, sqlite_copy

ISS = "https://auth.example/oidc"
TOKEN = device_token(7)


@pytest.fixture
def lite_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_template: Path) -> Cli:
    """The CLI on SQLite only: the registry tests above cover both backends."""
    return Cli(monkeypatch, sqlite_copy(sqlite_template, tmp_path))


def _audit(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_register_then_refresh_keeps_one_device(session: Session) -> None:
    clock = FixedClock(datetime(2026, 11, 1, 8, tzinfo=UTC))
    user = create_user(session, issuer=ISS, subject="ann")
    first = register_device(
        session, "ann", TOKEN.upper(), "sandbox", app_version="1.0", locale="zh-Hans", clock=clock
    )
    assert first.token == TOKEN
    assert first.environment is ApnsEnvironment.SANDBOX
    clock.advance(timedelta(days=2))
    again = register_device(
        session, user.id, TOKEN, "production", app_version="1.1", ios_version="18.1", clock=clock
    )
    assert again.id == first.id
    assert (again.environment, again.app_version, again.ios_version, again.locale) == (
        ApnsEnvironment.PRODUCTION,
        "1.1",
        "18.1",
        None,
    )
    assert again.last_seen_at == clock.now()
    assert again.created_at == clock.now() - timedelta(days=2)
    assert [d.id for d in list_devices(session, "ann")] == [first.id]
    actions = [e.action for e in _audit(session)]
    assert actions == ["user.created", "device.registered", "device.updated"]


def test_a_token_registered_by_another_user_moves_to_them(session: Session) -> None:
    ann = create_user(session, issuer=ISS, subject="ann")
    bob = create_user(session, issuer=ISS, subject="bob")
    register_device(session, ann.id, TOKEN, "production")
    register_device(session, bob.id, TOKEN, "production")
    assert list_devices(session, ann.id) == []
    assert [d.token for d in list_devices(session, bob.id)] == [TOKEN]
    events = _audit(session)[-2:]
    assert [(e.action, e.user_id) for e in events] == [
        ("device.removed", ann.id),
        ("device.registered", bob.id),
    ]
    assert events[0].details["reason"] == "moved_to_another_user"


def test_audit_events_never_hold_the_token(session: Session) -> None:
    create_user(session, issuer=ISS, subject="ann")
    register_device(session, "ann", TOKEN, "sandbox")
    remove_device(session, TOKEN)
    assert all(TOKEN not in json.dumps(e.details) for e in _audit(session))


@pytest.mark.parametrize(
    ("token", "env", "extra", "message"),
    [
        ("xyz", "sandbox", {}, "hexadecimal"),
        ("abc", "sandbox", {}, "hexadecimal"),
        (TOKEN, "staging", {}, "unknown APNs environment"),
        (TOKEN, "sandbox", {"locale": "zh_Hans!"}, "not a valid locale"),
        (TOKEN, "sandbox", {"app_version": ""}, "not a valid app version"),
    ],
)
def test_bad_input_is_refused(
    session: Session, token: str, env: str, extra: dict[str, Any], message: str
) -> None:
    create_user(session, issuer=ISS, subject="ann")
    with pytest.raises(InvalidInput, match=message):
        register_device(session, "ann", token, env, **extra)
    assert session.scalars(select(Device)).all() == []


def test_tokens_are_normalised_from_the_ios_description_form() -> None:
    assert normalise_token("<" + "AB" * 16 + " " + "cd" * 16 + ">") == "ab" * 16 + "cd" * 16


def test_unknown_user_and_unknown_token_are_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="no user"):
        register_device(session, "ghost", TOKEN, "sandbox")
    with pytest.raises(NotFound, match="no device"):
        remove_device(session, TOKEN)


def test_a_dead_token_is_kept_when_the_device_registered_after_it_died(session: Session) -> None:
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=UTC))
    create_user(session, issuer=ISS, subject="ann")
    register_device(session, "ann", TOKEN, "production", clock=clock)
    earlier = clock.now() - timedelta(hours=1)
    assert not forget_invalid_token(session, TOKEN, "Unregistered", invalid_since=earlier)
    later = clock.now() + timedelta(hours=1)
    assert forget_invalid_token(session, TOKEN, "Unregistered", invalid_since=later)
    assert session.scalars(select(Device)).all() == []
    assert _audit(session)[-1].details["reason"] == "Unregistered"
    assert not forget_invalid_token(session, TOKEN, "Unregistered")


def test_cli_devices_add_list_remove(lite_cli: Cli) -> None:
    assert lite_cli("users", "create", "--issuer", ISS, "--sub", "ann").exit_code == 0
    added = lite_cli(
        "devices", "add", "ann", TOKEN, "--env", "production", "--app-version", "1.4.2",
        "--ios-version", "18.1", "--locale", "zh-Hans", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    shown = json.loads(added.stdout)
    assert (shown["token"], shown["environment"], shown["locale"]) == (
        TOKEN,
        "production",
        "zh-Hans",
    )
    listed = json.loads(lite_cli("devices", "list", "ann", "--json").stdout)
    assert [d["id"] for d in listed] == [shown["id"]]
    table = lite_cli("devices", "list", "ann")
    assert "production" in table.stdout
    refused = lite_cli("devices", "remove", TOKEN)
    assert refused.exit_code == 1
    assert "--yes" in refused.stderr
    removed = lite_cli("devices", "remove", TOKEN, "--yes")
    assert removed.exit_code == 0, removed.output
    assert json.loads(lite_cli("devices", "list", "ann", "--json").stdout) == []


def test_cli_devices_errors_have_their_exit_codes(lite_cli: Cli) -> None:
    assert lite_cli("users", "create", "--issuer", ISS, "--sub", "ann").exit_code == 0
    assert lite_cli("devices", "add", "ann", TOKEN, "--env", "moon").exit_code == 2
    assert lite_cli("devices", "add", "nobody", TOKEN, "--env", "sandbox").exit_code == 3
    missing = lite_cli("devices", "remove", TOKEN, "--yes")
    assert missing.exit_code == 3
    assert "no device" in missing.stderr
