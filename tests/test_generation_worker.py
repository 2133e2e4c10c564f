"""Workers racing on PostgreSQL: every task runs exactly once, the ledger stays exact."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from liveai import ledger
from liveai.clock import SYSTEM_CLOCK
from liveai.db import Database, make_engine
from liveai.generation import Lifecycle, NewTask, WorkReport, create_task, work
from liveai.models import Task, TaskState
from liveai.providers.base import Motion, Provider
from liveai.storage import LocalStorage
from liveai.users import create_user
from tests.fakes.provider import FakeProvider
from tests.generation_helpers import give_generation_consents, photo, rig_settings

TASKS = 100


@pytest.mark.postgres
def test_two_workers_race_for_100_tasks_and_each_runs_once(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = rig_settings(
        tmp_path,
        provider_order="a",
        generation_poll_interval_s=0.01,
        generation_prices={"default": {5: 10}},
    )
    storage = LocalStorage(tmp_path / "storage")
    image = photo(320, 320)
    fake = FakeProvider("a", polls_to_finish=2)
    providers: dict[str, Provider] = {"a": fake}
    with httpx.Client() as client:
        setup = Database(make_engine(postgres_url))
        with setup.transaction() as session:
            user = create_user(session, issuer="https://t", subject="racer")
            ledger.grant(session, user.id, TASKS * 10 + 5, key="race", reason="t")
            give_generation_consents(session, user.id, SYSTEM_CLOCK)
            user_id = user.id
        with setup.transaction() as session:
            for _ in range(TASKS):
                create_task(
                    session,
                    storage,
                    providers,
                    settings,
                    user_id,
                    NewTask(image, motion=Motion.PAN_LEFT),
                    clock=SYSTEM_CLOCK,
                )

        reports: list[WorkReport] = []
        databases = [Database(make_engine(postgres_url)) for _ in range(2)]

        def run(db: Database) -> None:
            lifecycle = Lifecycle(db, storage, providers, settings, client, sleep=lambda s: None)
            reports.append(work(lifecycle, concurrency=4, once=True))

        threads = [threading.Thread(target=run, args=(db,)) for db in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for db in databases:
            db.close()

        ran = [set(r.finished.get("succeeded", [])) for r in reports]
        assert all(not r.errors for r in reports)
        assert len(ran[0]) + len(ran[1]) == TASKS and not ran[0] & ran[1]
        assert all(ran), "both workers got work"
        assert fake.calls["submit"] == TASKS
        assert set(fake.started.values()) == {1} and len(fake.started) == TASKS
        with setup.transaction() as session:
            states = session.execute(select(Task.state, func.count()).group_by(Task.state)).all()
            assert dict(states) == {TaskState.SUCCEEDED: TASKS}
            balance = ledger.balance(session, user_id)
            assert (balance.available, balance.pending) == (5, 0)
            assert ledger.reconcile(session).ok
        setup.close()
        assert uuid.UUID(next(iter(ran[0])))


class _Broken:
    """A provider whose submit breaks (a bug, not a provider error) for one task."""

    def __init__(self, inner: Any, task_id: uuid.UUID) -> None:
        self.inner, self.task_id, self.tries = inner, str(task_id), 0
        self.name, self.region = inner.name, inner.region

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def submit(self, request: Any) -> str:
        if request.task_id == self.task_id:
            self.tries += 1
            if self.tries < 3:  # a worker that retried at once would get through at last
                raise RuntimeError("a bug in the provider client")
        return str(self.inner.submit(request))


def test_a_task_that_raises_waits_for_the_next_run(database: Database, tmp_path: Path) -> None:
    settings = rig_settings(tmp_path, provider_order="a", generation_prices={"default": {5: 10}})
    storage = LocalStorage(tmp_path / "storage")
    fakes: dict[str, Provider] = {"a": FakeProvider("a")}
    with httpx.Client() as client:
        with database.transaction() as session:
            user = create_user(session, issuer="https://t", subject="broken")
            ledger.grant(session, user.id, 30, key="g", reason="t")
            give_generation_consents(session, user.id, SYSTEM_CLOCK)
            ids = [
                create_task(
                    session, storage, fakes, settings, user.id, NewTask(photo()), clock=SYSTEM_CLOCK
                ).id
                for _ in range(3)
            ]
        broken = _Broken(fakes["a"], ids[1])
        lifecycle = Lifecycle(
            database, storage, {"a": broken}, settings, client, sleep=lambda s: None
        )
        report = work(lifecycle, concurrency=2, once=True)

    assert broken.tries == 1  # not claimed again in the same run
    assert sorted(report.finished["succeeded"]) == sorted(str(i) for i in (ids[0], ids[2]))
    assert len(report.errors) == 1 and str(ids[1]) in report.errors[0]
    with database.transaction() as session:
        task = session.get(Task, ids[1])
        assert task is not None and task.state is TaskState.QUEUED and task.lease_owner is None
        assert ledger.balance(session, user.id).pending == 10
