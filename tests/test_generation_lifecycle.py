"""The task lifecycle against in-process providers scripted to fail at every step; the
result download over HTTP against a loopback provider."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from liveai import ledger
from liveai.clock import FixedClock
from liveai.db import Database, make_engine
from liveai.errors import Conflict, InsufficientCredits, InvalidInput
from liveai.generation import delete_task, list_tasks, request_cancel, transfers_of, work
from liveai.models import AuditEvent, TaskState, Upload
from liveai.providers.base import Provider, ProviderState, ProviderStatus
from liveai.storage import LocalStorage
from tests.fakes.provider import FakeProvider
from tests.fakes.video_provider import FakeServer, serve
from tests.generation_helpers import START, Crash, Rig, photo, providers_for, rig_settings


@pytest.fixture
def fakes() -> tuple[FakeProvider, FakeProvider]:
    a = FakeProvider("a", polls_to_finish=2)
    return a, FakeProvider("b", video=a.video)


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """Most cases run on SQLite only; the ones that touch locking and money run on both."""
    path = tmp_path / "gen.db"
    shutil.copy(sqlite_template, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    yield db
    db.close()


@pytest.fixture
def rig(
    sqlite_database: Database, tmp_path: Path, fakes: tuple[FakeProvider, FakeProvider]
) -> Iterator[Rig]:
    with httpx.Client() as client:  # nothing goes over HTTP; a Lifecycle holds one
        yield _rig(sqlite_database, tmp_path, client, {"a": fakes[0], "b": fakes[1]})


@pytest.fixture
def rig_both(
    database: Database, tmp_path: Path, fakes: tuple[FakeProvider, FakeProvider]
) -> Iterator[Rig]:
    with httpx.Client() as client:
        yield _rig(database, tmp_path, client, {"a": fakes[0], "b": fakes[1]})


@pytest.fixture
def loopback(
    sqlite_database: Database, tmp_path: Path
) -> Iterator[tuple[Rig, FakeServer, FakeServer]]:
    """Providers over HTTP, for what a result download meets on the wire."""
    with (
        serve(polls_to_finish=2) as a,
        serve(video=a.state.video) as b,
        httpx.Client(timeout=0.5) as client,
    ):
        providers = providers_for(client, {"a": a.url, "b": b.url})
        yield _rig(sqlite_database, tmp_path, client, providers), a, b


def _rig(
    database: Database, tmp_path: Path, client: httpx.Client, providers: Mapping[str, Provider]
) -> Rig:
    return Rig(
        database=database,
        settings=rig_settings(tmp_path, provider_order="a,b"),
        storage=LocalStorage(tmp_path / "storage"),
        clock=FixedClock(START),
        client=client,
        providers=dict(providers),
    )


def _events(rig: Rig, task_id: uuid.UUID) -> list[str]:
    with rig.database.transaction() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        return [
            e.action
            for e in session.scalars(query)
            if (e.details or {}).get("task_id") == str(task_id)
        ]


def test_a_task_runs_to_a_stored_video_and_is_charged_once(rig_both: Rig, fakes: tuple) -> None:
    rig = rig_both
    user = rig.user(100)
    task = rig.create(user, prompt="waves", duration_s=5)
    assert task.state is TaskState.QUEUED and task.price == 12  # the dearest candidate
    assert rig.balance(user).pending == 12

    done = rig.lifecycle().run(task.id)

    assert done.state is TaskState.SUCCEEDED and done.provider == "a" and done.charged == 10
    assert rig.balance(user).available == 90 and rig.balance(user).pending == 0
    assert rig.storage.get(done.result_key or "") == fakes[0].video
    assert rig.storage.get(done.poster_key or "").startswith(b"\xff\xd8")
    assert done.result_key == f"users/{user}/results/{task.id}.mp4"
    assert fakes[0].started[str(task.id)] == 1
    with rig.database.transaction() as session:
        upload = session.get(Upload, done.upload_id)
        assert upload is not None and upload.delete_after == done.finished_at + timedelta(days=30)
        transfers = transfers_of(session, task.id)
        assert [(t.provider, t.items, t.transport) for t in transfers] == [
            ("a", ["image", "prompt"], "base64")
        ]
    assert _events(rig, task.id) == ["task.created", "task.submitted", "task.succeeded"]
    assert [(e.task_id, e.succeeded) for e in rig.finished] == [(str(task.id), True)]
    assert rig.reconciled()


def test_a_raising_finished_handler_never_fails_the_task(rig: Rig) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("push is down")

    calls: list[str] = []
    task = rig.create(rig.user())
    done = rig.lifecycle(on_finished=[broken, lambda e: calls.append(e.state)]).run(task.id)
    assert done.state is TaskState.SUCCEEDED and calls == ["succeeded"]


def test_a_completion_notice_lost_to_a_crash_is_sent_by_the_next_worker(rig_both: Rig) -> None:
    task = rig_both.create(rig_both.user())
    rig_both.crash_at = "succeeded"  # settled and committed; nobody told yet
    with pytest.raises(Crash):
        rig_both.lifecycle().run(task.id)
    assert rig_both.finished == []
    fresh = rig_both.lifecycle()
    assert fresh.announce_missed() == 0  # its runner may still be telling: wait the grace
    rig_both.clock.advance(timedelta(minutes=6))
    assert work(fresh, once=True).total == 0  # a starting worker sends what is owed
    assert [(e.task_id, e.state) for e in rig_both.finished] == [(str(task.id), "succeeded")]
    assert fresh.announce_missed() == 0 and len(rig_both.finished) == 1


def test_only_untold_finished_tasks_are_owed_a_notice(rig: Rig) -> None:
    told, unheard = rig.create(rig.user()), rig.create(rig.user())
    rig.lifecycle().run(told.id)
    rig.lifecycle(on_finished=[]).run(unheard.id)  # nobody listened: nothing is owed
    rig.clock.advance(timedelta(hours=1))
    assert rig.lifecycle().announce_missed() == 0
    assert [e.task_id for e in rig.finished] == [str(told.id)]


@pytest.mark.parametrize("fault", ["500", "malformed", "429", "401", "402"])
def test_a_submit_failure_fails_over_to_the_next_provider(
    rig: Rig, fakes: tuple, fault: str
) -> None:
    fakes[0].enqueue("submit", fault)
    task = rig.create(rig.user())
    done = rig.lifecycle().run(task.id)
    assert done.state is TaskState.SUCCEEDED and done.provider == "b" and done.attempts == 2
    assert done.charged == 12  # b's price, within the hold
    with rig.database.transaction() as session:
        assert [t.provider for t in transfers_of(session, task.id)] == ["a", "b"]


def test_moderation_fails_the_task_without_failover_and_refunds(
    rig_both: Rig, fakes: tuple
) -> None:
    rig = rig_both
    a, b = fakes
    a.enqueue("submit", "reject")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user).id)
    assert done.state is TaskState.FAILED and done.error_code == "moderation"
    assert "moderation" in (done.error or "")
    assert b.calls["submit"] == 0
    assert rig.balance(user).available == 100 and done.charged == 0
    assert rig.finished[0].succeeded is False
    assert rig.reconciled()


def test_every_provider_failing_fails_the_task_and_refunds(rig: Rig, fakes: tuple) -> None:
    for fake in fakes:
        fake.enqueue("submit", "500")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user).id)
    assert done.state is TaskState.FAILED and done.error_code == "http_500"
    assert rig.balance(user).available == 100


@pytest.mark.parametrize("fault", ["500", "timeout", "malformed", "429"])
def test_transient_poll_and_download_faults_are_retried(loopback: tuple, fault: str) -> None:
    rig, a, _ = loopback
    a.state.fail_next("poll", fault, times=2)
    download_fault = "500" if fault == "malformed" else fault  # a 200 of junk is no retry
    a.state.fail_next("download", download_fault)
    done = rig.lifecycle().run(rig.create(rig.user()).id)
    assert done.state is TaskState.SUCCEEDED
    assert a.state.calls["download"] == 2


def test_the_provider_failing_the_job_refunds(rig: Rig, fakes: tuple) -> None:
    fakes[0].enqueue(
        "poll",
        ProviderStatus(
            ProviderState.FAILED, "", error_code="render_error", error_message="it broke"
        ),
    )
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user).id)
    assert (done.state, done.error_code, done.error) == (
        TaskState.FAILED,
        "render_error",
        "it broke",
    )
    assert rig.balance(user).available == 100
    assert rig.reconciled()


def test_a_malformed_video_fails_the_task_and_stores_nothing(rig: Rig, fakes: tuple) -> None:
    fakes[0].video = b"not a video"
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user).id)
    assert done.state is TaskState.FAILED and done.error_code == "malformed_result"
    assert list(rig.storage.list(f"users/{user}/results/")) == []
    assert rig.balance(user).available == 100


def test_a_result_redirected_elsewhere_is_not_fetched_and_fails_the_task(
    loopback: tuple,
) -> None:
    rig, a, b = loopback
    a.state.redirect_to = f"{b.url}/v1/videos/job-1.mp4"
    a.state.fail_next("download", "redirect")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user).id)
    assert done.state is TaskState.FAILED and done.error_code == "download_refused"
    assert b.state.calls["download"] == 0
    assert list(rig.storage.list(f"users/{user}/results/")) == []
    assert rig.balance(user).available == 100


def test_a_non_retryable_poll_error_fails_the_task(rig: Rig, fakes: tuple) -> None:
    fakes[0].enqueue("poll", "401")
    done = rig.lifecycle().run(rig.create(rig.user()).id)
    assert done.state is TaskState.FAILED and done.error_code == "http_401"


def test_polling_backs_off_and_times_out(rig: Rig, fakes: tuple, tmp_path: Path) -> None:
    fakes[0].polls_to_finish = 10**6
    rig.settings = rig_settings(tmp_path, provider_order="a,b", generation_poll_timeout_s=60)
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        rig.clock.advance(timedelta(seconds=seconds))

    user = rig.user(100)
    done = rig.lifecycle(sleep=sleep).run(rig.create(user).id)
    assert done.state is TaskState.FAILED and done.error_code == "timed_out"
    assert delays[:5] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert fakes[0].calls["cancel"] == 1
    assert rig.balance(user).available == 100


def test_a_cancel_request_stops_the_task_upstream_and_refunds(rig: Rig, fakes: tuple) -> None:
    fakes[0].polls_to_finish = 10**6
    user = rig.user(100)
    task = rig.create(user)

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            with rig.database.transaction() as session:
                request_cancel(session, task.id, clock=rig.clock)

    done = rig.lifecycle(sleep=sleep).run(task.id)
    assert done.state is TaskState.CANCELLED
    assert fakes[0].calls["cancel"] == 1
    assert rig.balance(user).available == 100


@pytest.mark.parametrize(("cancel_at_sleep", "polls"), [(1, 1), (2, 4)])
def test_a_cancel_is_seen_by_the_next_write_or_after_two_seconds_of_waiting(
    rig: Rig, fakes: tuple, tmp_path: Path, cancel_at_sleep: int, polls: int
) -> None:
    """Polled every 0.5 s, the row is not read every round: a cancel asked for before the
    first poll is read back by the write that marks the task running; one asked for later
    is read once 2 s have been waited since that write."""
    fakes[0].polls_to_finish = 10**6
    rig.settings = rig_settings(
        tmp_path, provider_order="a,b", generation_poll_interval_s=0.5, generation_poll_backoff=1
    )
    task = rig.create(rig.user(100))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        rig.clock.advance(timedelta(seconds=seconds))
        if len(sleeps) == cancel_at_sleep:
            with rig.database.transaction() as session:
                request_cancel(session, task.id, clock=rig.clock)

    done = rig.lifecycle(sleep=sleep).run(task.id)
    assert done.state is TaskState.CANCELLED and done.cancel_requested
    assert fakes[0].calls["poll"] == polls and fakes[0].calls["cancel"] == 1


def test_a_fresh_submit_is_first_polled_one_wait_later_a_resumed_one_at_once(
    rig: Rig, fakes: tuple
) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        rig.clock.advance(timedelta(seconds=seconds))

    fresh = rig.lifecycle(sleep=sleep).run(rig.create(rig.user()).id)
    assert fresh.state is TaskState.SUCCEEDED and sleeps == [1.0, 2.0]  # wait, poll, wait, poll

    sleeps.clear()
    task = rig.create(rig.user())
    rig.crash_at = "polling"
    with pytest.raises(Crash):
        rig.lifecycle(runner_id="first", sleep=sleep).run(task.id)
    assert sleeps == [1.0]  # wait, poll, crash
    rig.clock.advance(timedelta(seconds=rig.settings.generation_lease_s + 1))
    resumed = rig.lifecycle(runner_id="second", sleep=sleep).run(task.id)
    assert resumed.state is TaskState.SUCCEEDED and sleeps == [1.0]  # then a poll at once
    assert fakes[0].calls["poll"] == 4


def test_time_spent_polling_comes_off_the_next_wait(rig: Rig, fakes: tuple) -> None:
    """The provider is polled at its pace, not at its pace plus our own processing time."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        rig.clock.advance(timedelta(seconds=seconds))

    def slow_polls(task_id: uuid.UUID, stage: str) -> None:
        if stage == "polling":
            rig.clock.advance(timedelta(seconds=0.25))

    done = rig.lifecycle(sleep=sleep, progress=slow_polls).run(rig.create(rig.user()).id)
    assert done.state is TaskState.SUCCEEDED and sleeps == [1.0, 1.75]


def test_a_queued_task_cancelled_before_it_runs_never_reaches_a_provider(
    rig: Rig, fakes: tuple
) -> None:
    user = rig.user(100)
    task = rig.create(user)
    with rig.database.transaction() as session:
        request_cancel(session, task.id, clock=rig.clock)
    assert rig.lifecycle().run(task.id).state is TaskState.CANCELLED
    assert fakes[0].calls["submit"] == 0
    with rig.database.transaction() as session, pytest.raises(Conflict):
        request_cancel(session, task.id, clock=rig.clock)


def test_not_enough_credits_queues_nothing(rig: Rig) -> None:
    user = rig.user(5)
    with pytest.raises(InsufficientCredits):
        rig.create(user)
    with rig.database.transaction() as session:
        assert list_tasks(session, user_id=user) == []
    assert list(rig.storage.list(f"users/{user}/")) == []


def test_a_duration_nobody_offers_is_refused(rig: Rig) -> None:
    with pytest.raises(InvalidInput, match="7 s"):
        rig.create(rig.user(), duration_s=7)


def test_a_bad_photo_is_refused_before_anything_is_held(rig: Rig) -> None:
    user = rig.user(100)
    with pytest.raises(InvalidInput):
        rig.create(user, image=b"not a photo")
    with pytest.raises(InvalidInput):
        rig.create(user, image=photo(100, 100))
    assert rig.balance(user).available == 100


STAGES = ["claimed", "submitting", "submitted", "polling", "downloading", "storing"]


@pytest.mark.parametrize("stage", ["submitted", "storing"])
def test_crash_and_resume_on_each_backend(rig_both: Rig, fakes: tuple, stage: str) -> None:
    test_a_crash_at_any_step_resumes_without_a_second_submit_or_charge(rig_both, fakes, stage)


@pytest.mark.parametrize("stage", STAGES)
def test_a_crash_at_any_step_resumes_without_a_second_submit_or_charge(
    rig: Rig, fakes: tuple, stage: str
) -> None:
    user = rig.user(100)
    task = rig.create(user, prompt="resume me")
    rig.crash_at = stage
    with pytest.raises(Crash):
        rig.lifecycle(runner_id="first").run(task.id)

    # Its lease still stands: another runner must wait for it to expire.
    with pytest.raises(Conflict, match="first"):
        rig.lifecycle(runner_id="second").run(task.id)
    rig.clock.advance(timedelta(seconds=rig.settings.generation_lease_s + 1))
    done = rig.lifecycle(runner_id="second").run(task.id)

    assert done.state is TaskState.SUCCEEDED
    assert fakes[0].started[str(task.id)] == 1
    assert rig.balance(user).available == 90 and rig.balance(user).pending == 0
    with rig.database.transaction() as session:
        assert len(transfers_of(session, task.id)) == 1
    assert _events(rig, task.id).count("task.succeeded") == 1
    assert rig.reconciled()


def test_a_finished_task_run_again_changes_nothing(rig: Rig, fakes: tuple) -> None:
    user = rig.user(100)
    task = rig.create(user)
    rig.lifecycle().run(task.id)
    again = rig.lifecycle(runner_id="other").run(task.id)
    assert again.state is TaskState.SUCCEEDED and rig.balance(user).available == 90
    assert fakes[0].calls["submit"] == 1


def test_a_never_resumed_task_gets_its_credits_back_when_the_hold_expires(
    rig_both: Rig, fakes: tuple
) -> None:
    rig = rig_both
    user = rig.user(100)
    task = rig.create(user)
    rig.clock.advance(timedelta(seconds=rig.settings.generation_hold_timeout_s + 1))
    with rig.database.transaction() as session:
        ledger.expire_holds(session, clock=rig.clock)
    assert rig.balance(user).available == 100

    done = rig.lifecycle().run(task.id)
    assert done.state is TaskState.FAILED and done.error_code == "hold_expired"
    assert fakes[0].calls["submit"] == 0
    assert rig.balance(user).available == 100
    assert rig.reconciled()


def test_a_hold_that_expires_while_polling_fails_the_task_unpaid(
    rig_both: Rig, fakes: tuple, tmp_path: Path
) -> None:
    """The video arrives but the hold cannot be posted any more: the task fails, its
    objects go, the credits stay with the user, and the audit log says failed, only."""
    rig = rig_both
    rig.settings = rig_settings(
        tmp_path, provider_order="a,b", generation_hold_timeout_s=60, generation_lease_s=600
    )

    def sleep(seconds: float) -> None:
        rig.clock.advance(timedelta(seconds=61))

    user = rig.user(100)
    task = rig.create(user)
    done = rig.lifecycle(sleep=sleep).run(task.id)
    assert (done.state, done.error_code, done.charged) == (TaskState.FAILED, "hold_expired", 0)
    assert "could not charge" in (done.error or "") and done.result_key is None
    assert list(rig.storage.list(f"users/{user}/results/")) == []
    assert rig.balance(user).available == 100 and rig.balance(user).pending == 0
    assert _events(rig, task.id) == ["task.created", "task.submitted", "task.failed"]
    assert [e.state for e in rig.finished] == ["failed"]
    assert rig.reconciled()


def test_deleting_a_work_removes_its_objects_and_hides_it(rig: Rig) -> None:
    user = rig.user(100)
    task = rig.create(user)
    with rig.database.transaction() as session, pytest.raises(Conflict):
        delete_task(session, rig.storage, task.id, clock=rig.clock)
    done = rig.lifecycle().run(task.id)
    with rig.database.transaction() as session:
        delete_task(session, rig.storage, task.id, clock=rig.clock)
        assert list_tasks(session, user_id=user) == []
    assert not rig.storage.exists(done.result_key or "")
    assert list(rig.storage.list(f"users/{user}/")) == []
