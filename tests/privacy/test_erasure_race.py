"""Item 1 of the security review: an erasure racing a generation whose result is still
downloading, on PostgreSQL. The download is held at a gate, so each interleaving is
reached on purpose rather than by timing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest
from sqlalchemy import text

from liveai.clock import FixedClock
from liveai.db import Database, make_engine
from liveai.errors import NotFound
from liveai.models import Task, TaskState, User, UserStatus
from liveai.privacy.erasure import Eraser, Upstream, verify_erased
from liveai.storage import LocalStorage, user_prefix
from tests.fakes.video_provider import serve
from tests.generation.helpers import START, Rig, providers_for, rig_settings

pytestmark = pytest.mark.postgres


class Gate(httpx.BaseTransport):
    """Holds every video download until released; says when one has started."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.entered = threading.Event()
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(".mp4"):
            self.entered.set()
            assert self.release.wait(20), "the test never released the download"
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class RecordingStorage(LocalStorage):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.stored: list[str] = []

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str) -> None:
        self.stored.append(key)
        super().put(key, data, content_type=content_type)


@pytest.fixture
def rig(postgres_url: str, tmp_path: Path) -> Iterator[Rig]:
    database = Database(make_engine(postgres_url))
    with serve(polls_to_finish=1) as fake, httpx.Client(timeout=5.0) as client:
        yield Rig(
            database=database,
            settings=rig_settings(tmp_path, provider_order="a"),
            storage=RecordingStorage(tmp_path / "storage"),
            clock=FixedClock(START),
            client=client,
            providers=providers_for(client, {"a": fake.url}),
        )
    database.close()


def _worker(
    rig: Rig, gate: Gate, task_id: uuid.UUID, **overrides: Any
) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []
    downloads = httpx.Client(transport=gate, timeout=5.0)

    def run() -> None:
        try:
            outcome.append(rig.lifecycle(client=downloads, **overrides).run(task_id))
        except Exception as exc:
            outcome.append(exc)
        finally:
            downloads.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _results_stored(rig: Rig) -> list[str]:
    return [key for key in rig.storage.stored if "/results/" in key]  # type: ignore[attr-defined]


def _no_trace(rig: Rig, user_id: uuid.UUID) -> None:
    assert list(rig.storage.versions(user_prefix(user_id))) == []
    with rig.database.transaction() as session:
        assert verify_erased(session, rig.storage, user_id) == []


def test_the_erasure_waits_for_the_runner_which_stores_nothing(rig: Rig) -> None:
    user = rig.user(100)
    task = rig.create(user)
    gate = Gate()
    worker, outcome = _worker(rig, gate, task.id)
    assert gate.entered.wait(20), "the download never started"
    waiting = threading.Event()

    def erasure_sleep(seconds: float) -> None:
        waiting.set()
        threading.Event().wait(0.05)

    erased: list[Any] = []
    eraser = Eraser(rig.database, rig.storage, Upstream(), clock=rig.clock, sleep=erasure_sleep)
    erasure = threading.Thread(target=lambda: erased.append(eraser.run(user)))
    erasure.start()
    assert waiting.wait(20), "the erasure did not wait for the running task"
    with rig.database.transaction() as session:
        assert session.get_one(User, user).status is UserStatus.DELETION_PENDING
    gate.release.set()
    worker.join(20)
    erasure.join(20)

    finished = outcome[0]
    assert finished.state is TaskState.CANCELLED and finished.error_code == "account_closed"
    assert erased and erased[0].completed_at is not None
    assert _results_stored(rig) == []
    _no_trace(rig, user)


def test_a_runner_whose_lease_ran_out_is_fenced_and_stores_nothing(rig: Rig) -> None:
    user = rig.user(100)
    task = rig.create(user)
    gate = Gate()
    worker, outcome = _worker(rig, gate, task.id)
    assert gate.entered.wait(20)
    later = FixedClock(START + timedelta(hours=1))  # the runner's lease has run out
    run = Eraser(rig.database, rig.storage, Upstream(), clock=later).run(user)
    assert run.completed_at is not None and run.report["tasks_cancelled"] == 1
    gate.release.set()
    worker.join(20)

    assert isinstance(outcome[0], NotFound)  # the runner let go: its task is gone
    assert _results_stored(rig) == []
    _no_trace(rig, user)


def test_a_refused_final_write_removes_what_the_runner_stored(rig: Rig) -> None:
    user = rig.user(100)
    task = rig.create(user)

    def fence_after_storing(task_id: uuid.UUID, stage: str) -> None:
        if stage == "storing":  # stored, not yet settled: an erasure takes the task over
            with rig.database.engine.begin() as conn:
                conn.execute(
                    text("UPDATE tasks SET lease_owner = 'erasure' WHERE id = :id"),
                    {"id": task_id},
                )

    done = rig.lifecycle(progress=fence_after_storing).run(task.id)

    assert _results_stored(rig)  # it did store, then took it back
    assert list(rig.storage.list(f"users/{user}/results/")) == []
    assert done.state is not TaskState.SUCCEEDED
    with rig.database.transaction() as session:
        assert session.get_one(Task, task.id).result_key is None
