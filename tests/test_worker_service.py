"""The worker as a service: runner ids, takeover of gone runners' tasks, drains on
signals with real processes, retries, limits, logs and metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from liveai import ledger
from liveai.clock import SYSTEM_CLOCK
from liveai.db import Database, make_engine
from liveai.generation import Lifecycle, NewTask, create_task, work
from liveai.generation.runners import is_gone, parse, runner_id, same_process
from liveai.generation.worker import Limits
from liveai.models import Task, TaskState
from liveai.providers.base import Provider
from liveai.storage import LocalStorage
from liveai.users import create_user
from tests.fakes.provider import FakeProvider
from tests.generation_helpers import give_generation_consents, photo, rig_settings
from tests.providers_helpers import fake_env
from tests.service_helpers import rows, start, wait_for


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_runner_id_names_host_pid_and_start_and_only_a_gone_process_is_gone() -> None:
    mine = runner_id()
    found = parse(mine)
    assert found is not None and found.pid == os.getpid() and found.started.isdigit()
    assert not is_gone(mine) and same_process(mine)

    host, _, started, *rest = mine.split(":")
    assert is_gone(":".join([host, str(_dead_pid()), started, *rest]))
    # The pid is alive, but a later process got it: its start time differs.
    assert is_gone(":".join([host, str(os.getpid()), str(int(started) + 1), *rest]))
    # Another host, or an id in an older shape, cannot be proved gone.
    assert not is_gone(":".join(["elsewhere", str(_dead_pid()), started, *rest]))
    assert not is_gone(f"{host}:{_dead_pid()}:1234:ab12cd")


def _queue(cli, tmp_path: Path, count: int = 1) -> list[str]:
    image = tmp_path / "p.jpg"
    image.write_bytes(photo())
    ids = []
    for _ in range(count):
        result = cli("generate", str(image), "--no-wait", "--json", "--user", "ops")
        assert result.exit_code == 0, result.stderr
        ids.append(json.loads(result.stdout)["id"])
    return ids


def _lease(db_url: str, task_id: str, owner: str, minutes: int = 2) -> datetime:
    until = datetime.now(UTC) + timedelta(minutes=minutes)
    database = Database(make_engine(db_url))
    with database.transaction() as session:
        session.execute(
            update(Task)
            .where(Task.id == uuid.UUID(task_id))
            .values(lease_owner=owner, lease_until=until, state=TaskState.QUEUED)
        )
    database.close()
    return until


@pytest.fixture
def ops_user(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEAI_RENDER_MAX_SIDE", "96")
    monkeypatch.setenv("LIVEAI_PROVIDER_ORDER", "local")
    assert cli("users", "create", "--issuer", "https://t", "--sub", "ops").exit_code == 0
    for consent in ("face_editing", "sensitive:photos"):
        grant = ("consents", "grant", "ops", consent, "--source", "in-app", "--evidence", "t")
        assert cli(*grant).exit_code == 0
    assert cli("credits", "grant", "ops", "100", "--key", "g1", "--reason", "t").exit_code == 0


@pytest.mark.usefixtures("ops_user")
def test_resume_takes_over_a_gone_runners_task_and_leaves_a_live_ones(
    cli, db_url: str, tmp_path: Path
) -> None:
    gone_task, live_task = _queue(cli, tmp_path, 2)
    host, _, started, thread, nonce = runner_id().split(":")
    _lease(db_url, gone_task, f"{host}:{_dead_pid()}:{started}:{thread}:{nonce}")
    elsewhere = f"other-host:4242:{started}:1:abcdef"
    until = _lease(db_url, live_task, elsewhere)

    shown = json.loads(cli("tasks", "show", live_task, "--json").stdout)
    assert shown["lease_owner"] == elsewhere
    assert datetime.fromisoformat(shown["lease_until"]) == until.replace(tzinfo=None) or (
        datetime.fromisoformat(shown["lease_until"]) == until
    )

    result = cli("tasks", "resume")
    assert result.exit_code == 0, result.stderr
    assert f"took over task {gone_task}" in result.stderr
    assert "resumed 1 task(s): 1 succeeded" in result.stderr
    assert f"task {live_task} is run by {elsewhere}" in result.stderr
    assert "its lease ends at" in result.stderr
    assert json.loads(cli("tasks", "show", live_task, "--json").stdout)["state"] == "queued"

    cancelled = cli("tasks", "cancel", live_task)
    assert cancelled.exit_code == 0
    assert "cancel requested" in cancelled.stderr and "lease ends at" in cancelled.stderr


@pytest.mark.usefixtures("ops_user")
def test_cancel_of_a_gone_runners_task_takes_effect_at_once(
    cli, db_url: str, tmp_path: Path
) -> None:
    (task_id,) = _queue(cli, tmp_path)
    host, _, started, thread, nonce = runner_id().split(":")
    _lease(db_url, task_id, f"{host}:{_dead_pid()}:{started}:{thread}:{nonce}")
    result = cli("tasks", "cancel", task_id)
    assert result.exit_code == 0 and "cancelled; its credits are released" in result.stderr
    shown = json.loads(cli("tasks", "show", task_id, "--json").stdout)
    assert shown["state"] == "cancelled" and shown["charged"] == 0


@pytest.mark.usefixtures("ops_user")
def test_resume_wait_finishes_a_task_once_its_lease_lapses(
    cli, db_url: str, tmp_path: Path
) -> None:
    (task_id,) = _queue(cli, tmp_path)
    _lease(db_url, task_id, "other-host:1:1:1:abcdef", minutes=0)  # lapses right away
    database = Database(make_engine(db_url))
    with database.transaction() as session:  # a lease ending in two seconds
        session.execute(
            update(Task)
            .where(Task.id == uuid.UUID(task_id))
            .values(lease_until=datetime.now(UTC) + timedelta(seconds=2))
        )
    database.close()
    result = cli("tasks", "resume", "--wait", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["finished"] == {"succeeded": [task_id]}


class _Broken:
    """A provider whose submits raise a bug, always."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.tries = 0
        self.name, self.region = inner.name, inner.region  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def submit(self, request: object) -> str:
        self.tries += 1
        raise RuntimeError("a bug in the provider client")


def test_a_long_running_worker_retries_a_failing_task_then_fails_it_and_voids_the_hold(
    database: Database, tmp_path: Path
) -> None:
    settings = rig_settings(
        tmp_path,
        provider_order="a",
        generation_prices={"default": {5: 10}},
        worker_task_retries=2,
        worker_retry_base_s=0,
    )
    storage = LocalStorage(tmp_path / "storage")
    stop = threading.Event()
    fakes: dict[str, Provider] = {"a": FakeProvider("a")}
    with httpx.Client() as client:
        with database.transaction() as session:
            user = create_user(session, issuer="https://t", subject="retry")
            give_generation_consents(session, user.id, SYSTEM_CLOCK)
            ledger.grant(session, user.id, 10, key="g", reason="t")
            task = create_task(
                session, storage, fakes, settings, user.id, NewTask(photo()), clock=SYSTEM_CLOCK
            )
        broken = _Broken(fakes["a"])
        lifecycle = Lifecycle(
            database, storage, {"a": broken}, settings, client, sleep=lambda s: None
        )
        report = work(lifecycle, idle_s=0.05, stop=stop, on_task=lambda t, s: stop.set())

    assert broken.tries == 3  # the first run and two retries
    assert report.finished == {"failed": [str(task.id)]} and len(report.errors) == 3
    with database.transaction() as session:
        final = session.get(Task, task.id)
        assert final is not None and final.state is TaskState.FAILED
        assert final.error_code == "gave_up" and "a bug in the provider client" in final.error
        assert final.lease_owner is None
        assert ledger.balance(session, user.id).available == 10


def test_max_tasks_drains_after_that_many_claims(database: Database, tmp_path: Path) -> None:
    settings = rig_settings(tmp_path, provider_order="a", generation_prices={"default": {5: 10}})
    storage = LocalStorage(tmp_path / "storage")
    fakes: dict[str, Provider] = {"a": FakeProvider("a")}
    with httpx.Client(timeout=5) as client:
        with database.transaction() as session:
            user = create_user(session, issuer="https://t", subject="limits")
            give_generation_consents(session, user.id, SYSTEM_CLOCK)
            ledger.grant(session, user.id, 30, key="g", reason="t")
            for _ in range(3):
                create_task(
                    session, storage, fakes, settings, user.id, NewTask(photo()), clock=SYSTEM_CLOCK
                )
        lifecycle = Lifecycle(database, storage, fakes, settings, client, sleep=lambda s: None)
        report = work(lifecycle, idle_s=0.05, limits=Limits(max_tasks=2))
    assert report.total == 2 and report.stopped_by == "--max-tasks 2"
    with database.transaction() as session:
        left = session.query(Task).filter(Task.state == TaskState.QUEUED).all()
        assert len(left) == 1 and left[0].lease_owner is None


# --- real processes: a worker told to stop ---------------------------------------------


@pytest.fixture
def kling_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The embedded database, Kling's fake as the only provider (a task takes a few polls),
    and one queued task; yields the env, the fake and the database URL."""
    from tests.fakes.kling import FakeKling
    from tests.providers_helpers import KLING_AK, KLING_SK

    with FakeKling(access_keys={KLING_AK: KLING_SK}) as kling:
        kling.polls_to_finish = 3
        env = {
            k: v
            for k, v in fake_env({"kling": kling, "ark": kling, "wan": kling, "fal": kling}).items()
            if k.startswith("LIVEAI_KLING")
        }
        env.update(LIVEAI_PROVIDER_ORDER="kling", LIVEAI_PROVIDER_HTTP_TIMEOUT_S="5")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        url = f"sqlite:///{os.environ['LIVEAI_HOME']}/liveai.db"
        queued = subprocess.run(
            [sys.executable, "-m", "liveai_cli", "generate", "--sample", "--no-wait", "--json"],
            capture_output=True,
            text=True,
        )
        assert queued.returncode == 0, queued.stderr
        yield kling, url, json.loads(queued.stdout)["id"]


def _state(url: str, task_id: str) -> tuple[str, str | None, int]:
    ((state, owner, price),) = rows(
        url,
        "SELECT state, lease_owner, price FROM tasks WHERE id = :id",
        id=uuid.UUID(task_id).hex,
    )
    return state, owner, price


def _pending_holds(url: str) -> int:
    ((held,),) = rows(url, "SELECT count(*) FROM ledger_transfers WHERE state = 'pending'")
    return int(held)


def _submitted(url: str, task_id: str) -> bool:
    return _state(url, task_id)[0] in ("submitted", "running")


def test_sigterm_drains_a_worker_the_running_task_finishes_and_it_exits_0(kling_env) -> None:
    kling, url, task_id = kling_env
    with start("worker", "--concurrency", "2", "--idle", "0.2") as worker:
        wait_for(lambda: _submitted(url, task_id), "the task to reach Kling")
        worker.signal(signal.SIGTERM)
        code, _, err = worker.finish()
        assert code == 0, err
        assert "SIGTERM: draining" in err and "worker stopped on SIGTERM: 1 task(s) finished" in err
        assert "Traceback" not in err
        assert _state(url, task_id)[:2] == ("succeeded", None)
        assert len(kling.requests_to("/v1/videos/image2video", "POST")) == 1


def test_sigterm_with_no_grace_hands_the_task_back_with_its_hold(kling_env) -> None:
    kling, url, task_id = kling_env
    kling.polls_to_finish = 1000  # it would never finish in time
    with start("worker", "--grace", "0", "--idle", "0.2") as worker:
        wait_for(lambda: _submitted(url, task_id), "the task to reach Kling")
        worker.signal(signal.SIGTERM)
        code, _, err = worker.finish()
        assert code == 0, err
        assert "1 handed back" in err and "Traceback" not in err
        state, owner, _ = _state(url, task_id)
        assert state in ("submitted", "running") and owner is None  # ready for any runner now
        assert _pending_holds(url) == 1  # the hold stays for whoever finishes it


def test_a_second_signal_stops_at_once_and_still_releases_the_lease(kling_env) -> None:
    kling, url, task_id = kling_env
    kling.polls_to_finish = 1000
    with start("worker", "--grace", "600", "--idle", "0.2") as worker:
        wait_for(lambda: _submitted(url, task_id), "the task to reach Kling")
        worker.signal(signal.SIGINT)
        wait_for(lambda: worker.said("SIGINT: draining"), "the worker to be draining")
        worker.signal(signal.SIGINT)
        code, _, err = worker.finish()
        assert code == 0, err
        assert "SIGINT again: stopping now" in err and "1 handed back" in err
        assert _state(url, task_id)[1] is None and _pending_holds(url) == 1


def test_generate_stopped_by_sigint_says_what_it_left_and_exits_130(kling_env) -> None:
    kling, url, queued_id = kling_env
    kling.polls_to_finish = 1000
    with start("generate", "--sample", "--out", os.environ["LIVEAI_HOME"] + "/out") as generate:
        wait_for(lambda: len(rows(url, "SELECT id FROM tasks")) == 2, "the second task")
        ((task_hex,),) = rows(
            url, "SELECT id FROM tasks WHERE id != :id", id=uuid.UUID(queued_id).hex
        )
        task_id = str(uuid.UUID(task_hex))
        wait_for(lambda: _submitted(url, task_id), "the task to reach Kling")
        generate.signal(signal.SIGINT)
        code, _, err = generate.finish()
        assert code == 130, err
        state, owner, price = _state(url, task_id)
        assert owner is None
        assert f"task {task_id} left {state}, {price} credits held" in err
        assert f"`liveai tasks cancel {task_id}` releases them" in err and "Traceback" not in err


def test_worker_logs_json_lines_with_ids_and_no_personal_data(kling_env) -> None:
    _, _, task_id = kling_env
    with start("--log-format", "json", "worker", "--once") as worker:
        code, _, err = worker.finish()
        assert code == 0, err
        lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        banner = lines[0]
        assert set(banner) >= {"timestamp", "level", "logger", "message"}
        assert banner["message"].startswith("worker starting: database sqlite")
        assert "providers kling" in banner["message"] and "lease 120 s" in banner["message"]
        done = [line for line in lines if "succeeded" in line["message"]]
        assert done and done[0]["task_id"] == task_id and done[0]["provider"] == "kling"
        assert "user_id" in done[0]
        assert "developer" not in err  # the user's subject is never logged


def test_metrics_are_served_in_the_prometheus_format(database: Database, tmp_path: Path) -> None:
    import socket

    from liveai.metrics import WorkerMetrics

    settings = rig_settings(tmp_path, provider_order="a", generation_prices={"default": {5: 10}})
    storage = LocalStorage(tmp_path / "storage")
    fakes: dict[str, Provider] = {"a": FakeProvider("a")}
    with httpx.Client(timeout=5) as client:
        with database.transaction() as session:
            user = create_user(session, issuer="https://t", subject="metrics")
            give_generation_consents(session, user.id, SYSTEM_CLOCK)
            ledger.grant(session, user.id, 30, key="g", reason="t")
            for prompt in ("one", "two"):
                create_task(
                    session,
                    storage,
                    fakes,
                    settings,
                    user.id,
                    NewTask(photo(), prompt=prompt),
                    clock=SYSTEM_CLOCK,
                )
            create_task(  # left queued, its 10 credits held: the gauges see it
                session, storage, fakes, settings, user.id, NewTask(photo()), clock=SYSTEM_CLOCK
            )
        metrics = WorkerMetrics(database)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        metrics.serve(port)
        lifecycle = Lifecycle(database, storage, fakes, settings, client, sleep=lambda s: None)
        report = work(lifecycle, once=True, limits=Limits(max_tasks=2), observers=[metrics])
        scraped = client.get(f"http://127.0.0.1:{port}/metrics").text
    assert report.total == 2
    assert 'liveai_tasks_claimed_total{provider="auto"} 2.0' in scraped
    assert 'liveai_tasks_finished_total{provider="a",state="succeeded"} 2.0' in scraped
    assert 'liveai_generation_seconds_count{provider="a"} 2.0' in scraped
    assert 'liveai_provider_seconds_count{provider="a"} 2.0' in scraped
    assert "liveai_queue_depth 1.0" in scraped and "liveai_credits_held 10.0" in scraped
    assert "liveai_failovers_total" in scraped or "liveai_failovers" in scraped


def test_text_logs_and_quiet(cli_embedded, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LIVEAI_RENDER_MAX_SIDE", "96")
    assert cli_embedded("generate", "--sample", "--no-wait").exit_code == 0
    worked = cli_embedded("worker", "--once")
    assert worked.exit_code == 0
    lines = worked.stderr.splitlines()
    assert " INFO liveai.worker: worker starting: database sqlite" in lines[0]
    assert any("succeeded on local after" in line and "user_id=" in line for line in lines)
    cli_embedded("generate", "--sample", "--no-wait")
    quiet = cli_embedded("-q", "worker", "--once")
    assert quiet.exit_code == 0 and "INFO" not in quiet.stderr


def test_progress_shows_on_a_terminal_counting_refusals_apart_and_not_under_quiet(
    monkeypatch,
) -> None:
    import io

    from rich.console import Console

    from liveai_cli import logs, output, progress

    screen = io.StringIO()
    monkeypatch.setattr(output, "_stderr", Console(file=screen, force_terminal=True, width=100))
    logs.setup_logging(0)
    with progress.tasks_bar("generating", total=3) as advance:
        for outcome in ("succeeded", "refused", "succeeded"):
            advance(outcome)
        output.stderr().file.flush()
    assert progress.shown()
    logs.setup_logging(-1)
    assert not progress.shown()
    logs.setup_logging(0)
    monkeypatch.setattr(output, "_stderr", Console(file=io.StringIO(), force_terminal=False))
    assert not progress.shown()  # piped
    assert "generating (1 refused, 2 succeeded)" in screen.getvalue()


def test_generate_batch_stopped_by_sigterm_hands_its_tasks_back_and_exits_130(
    kling_env, tmp_path: Path
) -> None:
    kling, url, _ = kling_env
    kling.polls_to_finish = 1000
    image = tmp_path / "p.jpg"
    image.write_bytes(photo())
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"image,prompt\n{image},one\n{image},two\n")
    with start("generate", "batch", str(manifest), "--concurrency", "2") as batch:
        wait_for(
            lambda: len(rows(url, "SELECT id FROM tasks WHERE state = 'submitted'")) == 2,
            "both lines to reach Kling",
        )
        batch.signal(signal.SIGTERM)
        code, _, err = batch.finish()
    assert code == 130, err
    assert "unfinished lines stay queued with their credits held" in err
    assert "Traceback" not in err
    assert rows(url, "SELECT count(*) FROM tasks WHERE lease_owner IS NOT NULL") == [(0,)]


def test_the_render_pipeline_stops_its_drawing_thread_when_the_consumer_stops() -> None:
    from liveai.providers.render import _pipelined

    drawn = []

    def frames():  # type: ignore[no-untyped-def]
        for n in range(10_000):
            drawn.append(n)
            yield n

    before = threading.active_count()
    pipeline = _pipelined(frames(), depth=2)
    assert next(pipeline) == 0
    pipeline.close()  # what Ctrl-C does to the encoder loop
    assert threading.active_count() == before
    assert len(drawn) < 100  # it stopped drawing, instead of drawing every frame


def test_resume_right_after_kill_9_takes_the_task_over_at_once(kling_env) -> None:
    kling, url, queued_id = kling_env
    with start("generate", "--sample", "--out", os.environ["LIVEAI_HOME"] + "/out") as generate:
        wait_for(lambda: len(rows(url, "SELECT id FROM tasks")) == 2, "the second task")
        ((task_hex,),) = rows(
            url, "SELECT id FROM tasks WHERE id != :id", id=uuid.UUID(queued_id).hex
        )
        task_id = str(uuid.UUID(task_hex))
        wait_for(lambda: _submitted(url, task_id), "the task to reach Kling")
        generate.signal(signal.SIGKILL)
        generate.finish()
    assert _state(url, task_id)[1] is not None  # still leased to the dead process
    resumed = subprocess.run(
        [sys.executable, "-m", "liveai_cli", "tasks", "resume", "--json"],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    shown = json.loads(resumed.stdout)
    assert task_id in shown["taken_over"]
    assert sorted(shown["finished"]["succeeded"]) == sorted([task_id, queued_id])
    assert len(kling.requests_to("/v1/videos/image2video", "POST")) == 2  # no second submit
