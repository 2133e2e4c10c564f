"""Consent enforced where photos leave: the real provider clients against the loopback
fakes, failover past providers the user has not consented to, withdrawal cancelling queued
work, and a deliberate race between a withdrawal and a submit on PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from liveai.db import Database, make_engine
from liveai.errors import ConsentMissing
from liveai.generation import task_to_dict, transfers_of
from liveai.models import Consent, DataTransfer, Task, TaskState, Upload
from liveai.privacy import consents
from liveai.providers.registry import build_providers
from liveai.storage import LocalStorage
from tests.generation.helpers import START, Crash, Rig, give_generation_consents, rig_settings
from tests.providers.helpers import all_fakes, fake_settings

FACE = ("sensitive:photos", "face_editing")


@pytest.fixture
def fakes() -> Iterator[dict[str, Any]]:
    with all_fakes() as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as c:
        yield c


def _rig(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any], order: str
) -> Rig:
    from liveai.clock import FixedClock

    values = {**fake_settings(fakes), "provider_order": order, "allow_overseas": True}
    settings = rig_settings(tmp_path, **values)
    return Rig(
        database=database,
        settings=settings,
        storage=LocalStorage(tmp_path / "storage"),
        clock=FixedClock(START),
        client=client,
        providers=build_providers(settings, client),
    )


def _user(rig: Rig, kinds: tuple[str, ...]) -> uuid.UUID:
    user = rig.user(100, consented=False)
    with rig.database.transaction() as session:
        give_generation_consents(session, user, rig.clock, kinds)
    return user


def _withdraw(rig: Rig, user: uuid.UUID, kind: str) -> consents.Withdrawal:
    with rig.database.transaction() as session:
        return consents.withdraw(session, user, kind, settings=rig.settings, clock=rig.clock)


def _submits(fake: Any) -> int:
    return sum(1 for r in fake.requests if r.method == "POST")


def test_fal_gets_a_photo_only_while_the_user_consents(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, "fal,kling")
    user = _user(rig, FACE)
    first = rig.lifecycle().run(rig.create(user, prompt="waves").id)
    assert first.state is TaskState.SUCCEEDED and first.provider == "kling"
    assert first.skipped == ["skipped: no cross_border consent for fal"]
    assert task_to_dict(first)["skipped"] == first.skipped  # `liveai tasks show`
    assert fakes["fal"].requests == []
    with database.transaction() as session:
        assert [t.provider for t in transfers_of(session, first.id)] == ["kling"]
        give_generation_consents(session, user, rig.clock, ("cross_border:fal",))
    second = rig.lifecycle().run(rig.create(user, prompt="waves").id)
    assert second.state is TaskState.SUCCEEDED and second.provider == "fal"
    assert second.skipped is None and _submits(fakes["fal"]) == 1
    _withdraw(rig, user, "cross_border:fal")
    third = rig.lifecycle().run(rig.create(user, prompt="waves").id)
    assert third.provider == "kling" and _submits(fakes["fal"]) == 1
    assert rig.reconciled()


def test_a_generation_nobody_may_run_is_refused_before_anything_is_stored_or_held(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, "fal")
    user = _user(rig, FACE)
    with pytest.raises(ConsentMissing, match="fal needs cross_border:fal") as raised:
        rig.create(user)
    assert raised.value.missing == ["cross_border:fal"]
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == 0
        assert session.scalar(select(func.count()).select_from(Task)) == 0
    assert not (tmp_path / "storage").exists() or not any((tmp_path / "storage").rglob("*.jpg"))
    assert rig.balance(user).available == 100 and rig.balance(user).pending == 0


def test_no_consented_provider_left_fails_the_task_and_voids_its_hold(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, "fal")
    user = _user(rig, (*FACE, "cross_border:fal"))
    task = rig.create(user)
    runner = rig.lifecycle()
    claim = runner.claim_next()  # a runner holds it: the withdrawal leaves it to the runner
    assert claim is not None
    assert _withdraw(rig, user, "cross_border:fal").cancelled == []
    done = runner.run_claimed(claim)
    assert done.state is TaskState.FAILED and done.error_code == "consent_missing"
    assert done.error == "no consented provider: fal needs cross_border:fal"
    assert done.skipped == ["skipped: no cross_border consent for fal"] and done.attempts == 0
    assert fakes["fal"].requests == []
    with database.transaction() as session:
        assert transfers_of(session, task.id) == []
    assert rig.balance(user).available == 100 and done.charged == 0
    assert rig.reconciled()


def test_withdrawal_cancels_the_queued_tasks_that_need_it(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, "kling,fal")
    user = _user(rig, (*FACE, "cross_border:fal"))
    only_fal = rig.create(user, provider="fal")
    either = rig.create(user)
    assert rig.balance(user).pending > 0
    result = _withdraw(rig, user, "cross_border:fal")
    assert result.cancelled == [only_fal.id]
    with database.transaction() as session:
        cancelled = session.get_one(Task, only_fal.id)
        assert cancelled.state is TaskState.CANCELLED
        assert cancelled.error_code == "consent_withdrawn" and "nothing was sent" in (
            cancelled.error or ""
        )
        assert session.get_one(Task, either.id).state is TaskState.QUEUED
    assert _withdraw(rig, user, "face_editing").cancelled == [either.id]
    assert rig.balance(user).available == 100 and rig.balance(user).pending == 0
    assert all(fake.requests == [] for fake in fakes.values())
    assert rig.reconciled()


def test_a_task_already_sent_finishes_after_the_withdrawal(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, "fal")
    user = _user(rig, (*FACE, "cross_border:fal"))
    task = rig.create(user)
    rig.crash_at = "polling"  # sent, and the provider's task id stored
    with pytest.raises(Crash):
        rig.lifecycle().run(task.id)
    assert _withdraw(rig, user, "cross_border:fal").cancelled == []
    rig.clock.advance(timedelta(seconds=rig.settings.generation_lease_s + 1))
    done = rig.lifecycle().run(task.id)
    assert done.state is TaskState.SUCCEEDED and _submits(fakes["fal"]) == 1


# --- the race, on PostgreSQL -------------------------------------------------------


def _wait_for_lock_wait(url: str) -> None:
    """Until another backend of this database waits on a lock (the race is set up)."""
    engine = make_engine(url)
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    try:
        for _ in range(600):
            with engine.connect() as conn:
                if conn.scalar(query):
                    return
            time.sleep(0.05)
        raise AssertionError("nobody ever waited on the lock")
    finally:
        engine.dispose()


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


@pytest.mark.postgres
def test_a_withdrawal_that_commits_first_stops_the_submit(
    postgres_url: str, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    database = Database(make_engine(postgres_url))
    try:
        rig = _rig(database, tmp_path, client, fakes, "fal")
        user = _user(rig, (*FACE, "cross_border:fal"))
        rig.create(user)
        runner = rig.lifecycle()
        claim = runner.claim_next()
        assert claim is not None
        go = threading.Event()

        def withdraw_and_hold() -> consents.Withdrawal:
            with database.transaction() as session:
                result = consents.withdraw(
                    session, user, "cross_border:fal", settings=rig.settings, clock=rig.clock
                )
                go.wait()
                return result

        withdrawing, _ = _in_thread(withdraw_and_hold)
        _wait_until_user_locked(postgres_url)
        running, ran = _in_thread(lambda: runner.run_claimed(claim))
        _wait_for_lock_wait(postgres_url)  # the submit's check waits for the withdrawal
        go.set()
        withdrawing.join()
        running.join()
        (done,) = ran
        assert done.state is TaskState.FAILED and done.error_code == "consent_missing"
        assert fakes["fal"].requests == [] and _recorded(database) == 0
    finally:
        database.close()


@pytest.mark.postgres
def test_a_submit_that_checks_first_records_its_transfer_before_the_withdrawal(
    postgres_url: str,
    tmp_path: Path,
    client: httpx.Client,
    fakes: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = Database(make_engine(postgres_url))
    try:
        rig = _rig(database, tmp_path, client, fakes, "fal")
        user = _user(rig, (*FACE, "cross_border:fal"))
        task = rig.create(user)
        checked, go = threading.Event(), threading.Event()
        confirm = consents.confirm

        def confirm_then_hold(*args: Any, **kwargs: Any) -> None:
            confirm(*args, **kwargs)
            checked.set()
            go.wait()  # the transaction stays open: the transfer is not yet recorded

        monkeypatch.setattr(consents, "confirm", confirm_then_hold)
        running, ran = _in_thread(lambda: rig.lifecycle().run(task.id))
        checked.wait()
        withdrawing, withdrew = _in_thread(
            lambda: _withdraw(rig, user, "cross_border:fal").record.id
        )
        _wait_for_lock_wait(postgres_url)  # the withdrawal waits for the submit's check
        assert _withdrawals(database) == 0 and _recorded(database) == 0
        go.set()
        withdrawing.join()
        running.join()
        (done,), (withdrawal_id,) = ran, withdrew
        assert done.state is TaskState.SUCCEEDED and _submits(fakes["fal"]) == 1
        with database.transaction() as session:
            (transfer,) = transfers_of(session, task.id)
            assert transfer.provider == "fal"
            assert session.get_one(Consent, withdrawal_id).action == "withdrawn"
    finally:
        database.close()


def _recorded(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(DataTransfer)) or 0


def _withdrawals(database: Database) -> int:
    with database.transaction() as session:
        query = select(func.count()).select_from(Consent).where(Consent.action == "withdrawn")
        return session.scalar(query) or 0


def _wait_until_user_locked(url: str) -> None:
    """Until another transaction holds a user's row (probed with NOWAIT)."""
    engine = make_engine(url)
    probe = text("SELECT id FROM users FOR UPDATE NOWAIT")
    try:
        for _ in range(600):
            with engine.connect() as conn:
                try:
                    conn.execute(probe)
                except Exception:
                    return
                conn.rollback()
            time.sleep(0.05)
        raise AssertionError("the withdrawal never took the user's row")
    finally:
        engine.dispose()
