"""A real generation run wired to the completion handler: pushes never hold it back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from liveai import ledger
from liveai.clock import FixedClock
from liveai.db import Database, make_engine
from liveai.generation import NewTask, create_task
from liveai.generation.runtime import build_lifecycle
from liveai.models import TaskState
from liveai.push import completion_handler, register_device
from liveai.storage import LocalStorage
from liveai.users import create_user
from tests.fakes.apns import Fault
from tests.fakes.provider import FakeProvider
from tests.generation_helpers import (
    START,
    Rig,
    give_generation_consents,
    photo,
    rig_settings,
)
from tests.push_helpers import ApnsWorld, apns_world, device_token, sqlite_copy

TOKEN = device_token(5)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ApnsWorld]:
    with apns_world(tmp_path / "apns") as w:
        yield w


@pytest.fixture
def rig(tmp_path: Path, sqlite_template: Path) -> Iterator[Rig]:
    database = Database(make_engine(sqlite_copy(sqlite_template, tmp_path)))
    with httpx.Client() as client:
        yield Rig(
            database=database,
            settings=rig_settings(tmp_path, provider_order="a"),
            storage=LocalStorage(tmp_path / "storage"),
            clock=FixedClock(START),
            client=client,
            providers={"a": FakeProvider("a")},
        )
    database.close()


def _run_with_push(rig: Rig, world: ApnsWorld, monkeypatch: pytest.MonkeyPatch) -> TaskState:
    user = rig.user(100)
    with rig.database.transaction() as session:
        register_device(session, user, TOKEN, "production", locale="en")
    task = rig.create(user, prompt="waves", duration_s=5)
    handler = completion_handler(
        world.settings(monkeypatch), rig.database, sleep=world.record_sleep
    )
    assert handler is not None
    done = rig.lifecycle(on_finished=[handler, rig.finished.append]).run(task.id)
    assert [e.task_id for e in rig.finished] == [str(task.id)]
    return done.state


def test_a_generation_that_ends_while_apns_is_down_still_succeeds(
    rig: Rig, world: ApnsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.server.always = Fault(503, "ServiceUnavailable")
    assert _run_with_push(rig, world, monkeypatch) is TaskState.SUCCEEDED
    assert [r.status for r in world.server.received] == [503, 503]
    assert rig.reconciled()


def test_a_finished_generation_reaches_the_device(
    rig: Rig, world: ApnsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run_with_push(rig, world, monkeypatch) is TaskState.SUCCEEDED
    (received,) = world.server.received
    assert received.status == 200
    assert received.payload is not None
    assert received.payload["taskId"] == rig.finished[0].task_id
    assert received.payload["aps"]["alert"]["title"] == "Your video is ready"


def test_the_runtime_lifecycle_pushes_when_apns_is_configured(
    tmp_path: Path, sqlite_template: Path, world: ApnsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = world.settings(monkeypatch, LIVEAI_RENDER_MAX_SIDE="96")
    database = Database(make_engine(sqlite_copy(sqlite_template, tmp_path)))
    clock = FixedClock(START)
    with httpx.Client(timeout=2.0) as client:
        runner = build_lifecycle(
            database,
            settings,
            client,
            clock=clock,
            sleep=lambda s: clock.advance(timedelta(seconds=s)),
        )
        with database.transaction() as session:
            user = create_user(session, issuer="https://t", subject="u1", clock=clock).id
            ledger.grant(session, user, 100, key="g", reason="t", clock=clock)
            give_generation_consents(session, user, clock)
            register_device(session, user, TOKEN, "production", locale="en")
            new = NewTask(photo(), prompt="waves")
            task = create_task(
                session, runner.storage, runner.providers, settings, user, new, clock=clock
            )
        assert runner.run(task.id).state is TaskState.SUCCEEDED
    database.close()
    (received,) = world.server.received
    assert received.status == 200 and received.payload is not None
    assert received.payload["taskId"] == str(task.id)
