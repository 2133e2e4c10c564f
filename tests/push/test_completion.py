"""Completion pushes: the TaskFinished handler, `liveai push send` and `liveai push test`."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from liveai.db import Database, make_engine
from liveai.errors import ConfigError
from liveai.events import TaskFinished, TaskFinishedHandler
from liveai.models import Device
from liveai.push import apns_config, apns_status, completion_handler, register_device
from liveai.settings import Settings
from liveai.users import create_user
from tests.conftest import Cli
from tests.fakes.apns import Fault
from tests.push.helpers import ApnsWorld, apns_world, device_token, sqlite_copy

ISS = "https://auth.example/oidc"
ZH, EN, DEAD = device_token(1), device_token(2), device_token(3)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ApnsWorld]:
    with apns_world(tmp_path) as w:
        yield w


@pytest.fixture
def lite_url(tmp_path: Path, sqlite_template: Path) -> str:
    return sqlite_copy(sqlite_template, tmp_path)


@pytest.fixture
def lite(lite_url: str) -> Iterator[Database]:
    """SQLite only: these tests are about pushes; the registry tests cover both backends."""
    db = Database(make_engine(lite_url))
    yield db
    db.close()


@pytest.fixture
def lite_cli(monkeypatch: pytest.MonkeyPatch, lite_url: str) -> Cli:
    return Cli(monkeypatch, lite_url)


def _user_with_devices(database: Database) -> uuid.UUID:
    with database.transaction() as session:
        user = create_user(session, issuer=ISS, subject="ann")
        register_device(session, user.id, ZH, "production", locale="zh-Hans")
        register_device(session, user.id, EN, "sandbox", locale="en")
        register_device(session, user.id, DEAD, "production")
        return user.id


def _tokens(database: Database) -> set[str]:
    with database.transaction() as session:
        return set(session.scalars(select(Device.token)))


def _handler(
    world: ApnsWorld, database: Database, monkeypatch: pytest.MonkeyPatch
) -> TaskFinishedHandler:
    handler = completion_handler(
        world.settings(monkeypatch), database, clock=world.clock, sleep=world.record_sleep
    )
    assert handler is not None
    return handler


def test_success_is_pushed_to_every_device_in_its_language(
    world: ApnsWorld, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = _user_with_devices(database)
    died = int((time.time() + 60) * 1000)  # after the device last registered
    world.server.script(DEAD, Fault(410, "Unregistered", timestamp_ms=died))
    world.server.hold = 3
    _handler(world, database, monkeypatch)(
        TaskFinished(task_id="task-9", user_id=user_id, succeeded=True, state="succeeded")
    )
    by_token = {r.token: r for r in world.server.received}
    assert set(by_token) == {ZH, EN, DEAD}
    assert by_token[ZH].json["aps"]["alert"]["title"] == "视频已生成"
    assert by_token[EN].json["aps"]["alert"]["title"] == "Your video is ready"
    assert by_token[DEAD].json["aps"]["alert"]["title"] == "Your video is ready"
    for received in by_token.values():
        assert received.json["taskId"] == "task-9"
        assert received.headers["apns-collapse-id"] == "task-9"
    assert world.server.connections == 1
    assert world.server.max_in_flight == 3
    assert not world.server.hold_timed_out
    assert _tokens(database) == {ZH, EN}


def test_a_failed_generation_is_pushed_too(
    world: ApnsWorld, lite: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = _user_with_devices(lite)
    _handler(world, lite, monkeypatch)(
        TaskFinished(task_id="t2", user_id=user_id, succeeded=False, state="failed", error="x")
    )
    titles = {r.token: r.json["aps"]["alert"]["title"] for r in world.server.received}
    assert titles == {
        ZH: "视频生成失败",
        EN: "Your video could not be made",
        DEAD: "Your video could not be made",
    }
    assert {r.json["state"] for r in world.server.received} == {"failed"}


def test_the_provider_token_is_reused_across_completions(
    world: ApnsWorld, lite: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = _user_with_devices(lite)
    handler = _handler(world, lite, monkeypatch)
    for n in range(2):
        handler(TaskFinished(task_id=f"t{n}", user_id=user_id, succeeded=True, state="succeeded"))
    assert len(world.server.received) == 6
    assert len({r.jwt for r in world.server.received}) == 1
    assert all(r.status == 200 for r in world.server.received)


def test_apns_down_is_logged_and_never_raises(
    world: ApnsWorld,
    lite: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user_id = _user_with_devices(lite)
    world.server.always = Fault(503, "ServiceUnavailable")
    handler = _handler(world, lite, monkeypatch)
    event = TaskFinished(task_id="t3", user_id=user_id, succeeded=True, state="succeeded")
    with caplog.at_level(logging.INFO, logger="liveai.push"):
        handler(event)
    assert len(world.server.received) == 6  # one retry each (LIVEAI_APNS_RETRIES=1)
    assert world.sleeps == [0.5, 0.5, 0.5]
    assert "ServiceUnavailable" in caplog.text
    assert "pushed to 0/3 devices" in caplog.text
    world.server.close()
    handler(event)  # unreachable: still no exception
    assert _tokens(lite) == {ZH, EN, DEAD}


def test_a_broken_database_is_swallowed_by_the_handler(
    world: ApnsWorld, lite: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = _handler(world, lite, monkeypatch)
    monkeypatch.setattr(lite, "transaction", _explode)
    handler(TaskFinished(task_id="t4", user_id=uuid.uuid4(), succeeded=True, state="succeeded"))
    assert world.server.received == []


def _explode() -> None:
    raise RuntimeError("database gone")


def test_no_handler_without_apns_settings(lite: Database, tmp_path: Path) -> None:
    assert completion_handler(Settings(), lite) is None
    assert completion_handler(Settings(apple_bundle_id="ai.live.app"), lite) is None
    partial = Settings(apns_key_id="ABC123DEFG")
    with pytest.raises(ConfigError, match="LIVEAI_APNS_KEY_FILE"):
        apns_config(partial)
    assert completion_handler(partial, lite) is None
    unreadable = Settings(
        apns_key_id="K", apns_team_id="T", apple_bundle_id="b", apns_key_file=tmp_path / "no.p8"
    )
    assert completion_handler(unreadable, lite) is None
    assert apns_status(unreadable)[0] is False
    assert apns_status(Settings()) == (True, "not configured: completion pushes are off")


# --- the CLI ---


def test_cli_push_send_reports_each_device(
    world: ApnsWorld, lite_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.settings(monkeypatch)
    assert lite_cli("users", "create", "--issuer", ISS, "--sub", "ann").exit_code == 0
    for token in (ZH, DEAD):
        assert lite_cli("devices", "add", "ann", token, "--env", "sandbox").exit_code == 0
    world.server.script(DEAD, Fault(400, "BadDeviceToken"))
    result = lite_cli("push", "send", "ann", "--title", "Hi", "--body", "Hello", "--json")
    assert result.exit_code == 0, result.output
    outcomes = {row["token"]: row for row in json.loads(result.stdout)}
    assert outcomes[ZH]["outcome"] == "delivered"
    assert (outcomes[DEAD]["outcome"], outcomes[DEAD]["reason"]) == ("removed", "BadDeviceToken")
    listed = json.loads(lite_cli("devices", "list", "ann", "--json").stdout)
    assert [d["token"] for d in listed] == [ZH]
    assert {r.json["aps"]["alert"]["body"] for r in world.server.received} == {"Hello"}


def test_cli_push_send_exits_6_when_nothing_was_delivered(
    world: ApnsWorld, lite_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.settings(monkeypatch, LIVEAI_APNS_RETRIES="0")
    assert lite_cli("users", "create", "--issuer", ISS, "--sub", "ann").exit_code == 0
    assert lite_cli("devices", "add", "ann", ZH, "--env", "sandbox").exit_code == 0
    world.server.always = Fault(500, "InternalServerError")
    result = lite_cli("push", "send", "ann", "--title", "Hi", "--body", "Hello", "--json")
    assert result.exit_code == 6
    assert json.loads(result.stdout)[0]["reason"] == "InternalServerError"


def test_cli_push_test_to_a_raw_token(
    world: ApnsWorld, lite_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.settings(monkeypatch)
    ok = lite_cli("push", "test", EN, "--env", "production", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)[0]["outcome"] == "delivered"
    world.server.script(DEAD, Fault(410, "Unregistered"))
    dead = lite_cli("push", "test", DEAD, "--env", "production")
    assert dead.exit_code == 6
    assert "Unregistered" in dead.stdout


def test_cli_push_without_apns_settings_says_what_to_set(lite_cli: Cli) -> None:
    result = lite_cli("push", "test", EN, "--env", "sandbox")
    assert result.exit_code == 1
    assert "LIVEAI_APNS_KEY_FILE" in result.stderr
