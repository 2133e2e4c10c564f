from __future__ import annotations

import gzip
import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from liveai.clock import FixedClock
from liveai.db import Database
from liveai.errors import ConfigError
from liveai.generation.tasks import task_keys
from liveai.models.generation import Task, TaskState, Upload
from liveai.retention.nginx_logs import logrotate_config, newest_entry, sweep_logs
from liveai.retention.uploads import sweep_uploads
from liveai.storage import DeleteReport, LocalStorage, Storage, result_key, upload_key
from liveai.users import create_user
from tests.fakes.s3 import S3Env

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _seed(
    database: Database,
    storage: Storage,
    *,
    due: int,
    later: int = 0,
    running: int = 0,
    finished_at: datetime = NOW - timedelta(days=30),
) -> uuid.UUID:
    """Uploads of one user: `due` past delete-after, `later` still retained, `running`
    past delete-after but still used by a running task; each with a result video."""
    with database.transaction() as session:
        user = create_user(session, issuer="https://i/oidc", subject=f"s-{uuid.uuid4().hex}")
        plan = [(finished_at, TaskState.SUCCEEDED)] * due
        plan += [(NOW + timedelta(days=3), TaskState.SUCCEEDED)] * later
        plan += [(finished_at, TaskState.RUNNING)] * running
        for n, (delete_after, task_state) in enumerate(plan):
            key = upload_key(user.id, f"{n}.jpg")
            storage.put(key, b"x" * (n + 1), content_type="image/jpeg")
            storage.put(result_key(user.id, f"{n}.mp4"), b"video", content_type="video/mp4")
            upload = Upload(
                user_id=user.id,
                storage_key=key,
                media_type="image/jpeg",
                size_bytes=n + 1,
                sha256="0" * 64,
                width=300,
                height=300,
                created_at=NOW - timedelta(days=40),
                delete_after=delete_after,
            )
            session.add(upload)
            session.flush()
            session.add(
                Task(
                    user_id=user.id,
                    upload_id=upload.id,
                    state=task_state,
                    prompt="p",
                    motion="static",
                    duration_s=5,
                    price=10,
                    hold_key=task_keys(uuid.uuid4()).hold,
                    result_key=result_key(user.id, f"{n}.mp4"),
                    created_at=NOW - timedelta(days=40),
                    updated_at=NOW - timedelta(days=40),
                )
            )
        return user.id


def _live_uploads(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).where(Upload.deleted_at.is_(None))) or 0


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


def test_sweep_removes_only_what_is_due(database: Database, local: LocalStorage) -> None:
    user_id = _seed(database, local, due=3, later=2, running=1)
    report = sweep_uploads(database, local, now=NOW, clock=FixedClock(NOW))
    assert (report.removed, report.bytes_removed) == (3, 1 + 2 + 3)
    assert report.overdue_left == 1  # the running task's upload waits for its task
    assert report.next_due == NOW + timedelta(days=3)
    keys = {o.key for o in local.list(f"users/{user_id}/")}
    assert sum("/results/" in k for k in keys) == 6  # results untouched
    assert sum("/uploads/" in k for k in keys) == 3
    assert _live_uploads(database) == 3


def test_exactly_at_the_deadline_is_due(database: Database, local: LocalStorage) -> None:
    _seed(database, local, due=1, finished_at=NOW)
    _seed(database, local, due=1, finished_at=NOW + timedelta(microseconds=1))
    assert sweep_uploads(database, local, now=NOW).removed == 1


def test_time_zones_are_compared_as_instants(database: Database, local: LocalStorage) -> None:
    from zoneinfo import ZoneInfo

    _seed(database, local, due=1, finished_at=NOW)
    shanghai_now = NOW.astimezone(ZoneInfo("Asia/Shanghai")) - timedelta(seconds=1)
    assert sweep_uploads(database, local, now=shanghai_now).removed == 0
    assert sweep_uploads(database, local, now=shanghai_now + timedelta(seconds=1)).removed == 1


def test_dry_run_deletes_nothing(database: Database, local: LocalStorage) -> None:
    _seed(database, local, due=2, finished_at=NOW - timedelta(days=5))
    report = sweep_uploads(database, local, now=NOW, dry_run=True)
    assert report.removed == 2 and report.late == 2
    assert _live_uploads(database) == 2
    assert len(list(local.list("users/"))) == 4


class CrashAfterDelete:
    """Deletes the objects, then dies before the rows are marked."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def delete_many(self, keys: Sequence[str]) -> DeleteReport:
        self.inner.delete_many(keys)
        raise KeyboardInterrupt("power cut")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_crash_mid_batch_then_rerun(database: Database, local: LocalStorage) -> None:
    _seed(database, local, due=5)
    with pytest.raises(KeyboardInterrupt):
        sweep_uploads(database, CrashAfterDelete(local), now=NOW, batch_size=2)  # type: ignore[arg-type]
    assert _live_uploads(database) == 5  # rolled back: nothing marked
    report = sweep_uploads(database, local, now=NOW, batch_size=2)
    assert report.removed == 5 and not report.failed
    assert _live_uploads(database) == 0
    assert not [o for o in local.list("users/") if "/uploads/" in o.key]


class CountingStorage:
    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.deleted: Counter[str] = Counter()
        self.lock = threading.Lock()

    def delete_many(self, keys: Sequence[str]) -> DeleteReport:
        with self.lock:
            self.deleted.update(keys)
        return self.inner.delete_many(keys)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_two_sweeps_at_once_remove_each_upload_once(
    database: Database, local: LocalStorage
) -> None:
    _seed(database, local, due=60)
    counting = CountingStorage(local)
    reports = []

    def run() -> None:
        reports.append(sweep_uploads(database, counting, now=NOW, batch_size=7))  # type: ignore[arg-type]

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.removed for r in reports) == 60
    assert len(counting.deleted) == 60 and max(counting.deleted.values()) == 1
    assert _live_uploads(database) == 0


def test_sweep_on_s3_batches_deletes(database: Database, s3_env: S3Env) -> None:
    storage = s3_env.storage()
    _seed(database, storage, due=25, later=1)
    requests: list[int] = []
    storage.client.meta.events.register(
        "before-call.s3.DeleteObjects",
        lambda params, **_: requests.append(params["body"].count(b"<Key>")),
    )
    report = sweep_uploads(database, storage, now=NOW, batch_size=10)
    assert report.removed == 25 and report.batches == 3
    assert requests == [10, 10, 5]  # one DeleteObjects request per claimed batch
    assert len([o for o in storage.list("users/") if "/uploads/" in o.key]) == 1
    assert _live_uploads(database) == 1
    storage.close()


def _write(path: Path, lines: list[str], *, gz: bool = False) -> Path:
    data = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(data)
    else:
        path.write_text(data)
    return path


def _line(at: datetime) -> str:
    stamp = at.strftime("%d/%b/%Y:%H:%M:%S %z")
    return f'203.0.113.9 - - [{stamp}] "GET /v1/tasks HTTP/1.1" 200 512 "-" "live.ai/1.4 iOS/18"'


def test_log_sweep_reads_ages_from_inside_the_files(tmp_path: Path) -> None:
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    live = _write(tmp_path / "access.log", [_line(old)])
    stale_gz = _write(
        tmp_path / "access.log.3.gz",
        [_line(old), "garbage", _line(old - timedelta(hours=1))],
        gz=True,
    )
    mixed = _write(tmp_path / "access.log.1", [_line(old), "\x00junk", _line(recent)])
    dated = _write(tmp_path / "access.log-20261020", [_line(NOW - timedelta(days=31))])
    unreadable = _write(tmp_path / "access.log.2", ["no timestamps here"])
    os.utime(dated, (NOW.timestamp(), NOW.timestamp()))  # a fresh mtime is not trusted
    os.utime(mixed, (0, 0))  # nor an ancient one
    report = sweep_logs(tmp_path, days=30, now=NOW)
    assert {f.path for f in report.removed} == {stale_gz, dated}
    assert {f.path for f in report.kept} == {mixed}
    assert [f.path for f in report.unreadable] == [unreadable]
    assert report.live == [live] and live.exists() and mixed.exists()
    assert not stale_gz.exists() and not dated.exists()


def test_log_boundary_and_iso_timestamps(tmp_path: Path) -> None:
    iso = "$time_iso8601 $request"
    exact = _write(tmp_path / "a.log.1", [f"{(NOW - timedelta(days=30)).isoformat()} GET /"])
    assert newest_entry(exact, iso) == NOW - timedelta(days=30)
    assert sweep_logs(tmp_path, days=30, now=NOW, dry_run=True, log_format=iso).removed == []
    later = NOW + timedelta(seconds=1)
    assert len(sweep_logs(tmp_path, days=30, now=later, dry_run=True, log_format=iso).removed) == 1
    assert exact.exists()


def test_logrotate_config_follows_the_setting() -> None:
    config = logrotate_config(days=30)
    assert "rotate 30" in config and "maxage 30" in config and "compress" in config
    assert "rotate 7" in logrotate_config(days=7)


def test_cli_sweep_status_and_logs(cli, db_url: str, tmp_path: Path, isolated_env: Path) -> None:
    database = Database(__import__("liveai.db", fromlist=["make_engine"]).make_engine(db_url))
    storage = LocalStorage(isolated_env / "storage")
    _seed(database, storage, due=2, later=1, finished_at=NOW - timedelta(days=3))
    database.close()
    status = cli("retention", "status", "--now", NOW.isoformat(), "--json")
    assert status.exit_code == 0, status.output
    uploads = json.loads(status.stdout)[0]
    assert uploads["held"] == 3 and uploads["overdue"] == 2
    dry = cli("retention", "sweep", "--dry-run", "--now", NOW.isoformat(), "--json")
    assert json.loads(dry.stdout)["removed"] == 2
    strict = cli("retention", "sweep", "--now", NOW.isoformat(), "--strict", "--json")
    assert strict.exit_code == 1 and "past their deadline" in strict.stderr
    assert json.loads(strict.stdout)["removed"] == 2
    again = cli("retention", "sweep", "--now", NOW.isoformat(), "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["removed"] == 0
    assert cli("retention", "sweep", "--now", "yesterday").exit_code == 2
    logs = tmp_path / "nginx"
    logs.mkdir()
    _write(logs / "access.log.1", [_line(NOW - timedelta(days=45))])
    swept = cli("retention", "logs", "--dir", str(logs), "--now", NOW.isoformat(), "--json")
    assert swept.exit_code == 0 and len(json.loads(swept.stdout)["removed"]) == 1
    assert cli("retention", "logs", "--dir", str(tmp_path / "none")).exit_code == 2
    assert "rotate 30" in cli("retention", "logrotate-config").stdout


def test_a_client_supplied_date_before_time_local_does_not_keep_a_log(tmp_path: Path) -> None:
    old = (NOW - timedelta(days=45)).strftime("%d/%b/%Y:%H:%M:%S %z")
    forged = "[01/Jan/2099:00:00:00 +0000]"  # sent as the basic-auth user name
    agent = "[02/Feb/2099:00:00:00 +0000]"
    line = f'203.0.113.9 - {forged} [{old}] "GET /v1/tasks HTTP/1.1" 200 512 "-" "{agent}"'
    path = _write(tmp_path / "access.log.1", [line])
    assert newest_entry(path) == NOW - timedelta(days=45)
    assert [f.path for f in sweep_logs(tmp_path, days=30, now=NOW).removed] == [path]


def test_the_log_format_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from liveai.settings import load_settings

    custom = '[$time_local] $remote_addr "$request" "$remote_user" $status'
    stamp = (NOW - timedelta(days=45)).strftime("%d/%b/%Y:%H:%M:%S %z")
    path = _write(
        tmp_path / "api.log.2",
        [f'[{stamp}] 203.0.113.9 "GET /" "[01/Jan/2099:00:00:00 +0000]" 200'],
    )
    assert newest_entry(path, custom) == NOW - timedelta(days=45)
    assert newest_entry(path) is None  # not the combined format: kept and reported
    monkeypatch.setenv("LIVEAI_NGINX_LOG_FORMAT", custom)
    assert load_settings().nginx_log_format == custom
    with pytest.raises(ConfigError, match="time_local"):
        newest_entry(path, "$remote_addr $request")
