"""The security review's erasure findings: free text, audit links, versioned buckets,
object locks, refused deletes, pending holds, storage outages, partial writes, concurrent
runs, broken identity settings, and SQLite's free pages."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Text, cast, func, select

from liveai import audit, ledger
from liveai.clock import SYSTEM_CLOCK, FixedClock
from liveai.db import Database
from liveai.errors import ConfigError, Conflict, UpstreamError
from liveai.generation import delete_task
from liveai.generation.tasks import task_keys
from liveai.models import (
    AuditEvent,
    Base,
    DataTransfer,
    ErasureRun,
    PrivacyRequest,
    Purchase,
    RequestKind,
    StoreNotification,
    Task,
    TaskState,
    Transfer,
    User,
    UserStatus,
)
from liveai.privacy import erasure_text
from liveai.privacy import requests as register
from liveai.privacy.erasure import Eraser, Upstream, verify_erased
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.settings import Settings
from liveai.storage import DeleteReport, LocalStorage, Storage, result_key, user_prefix
from liveai.storage.base import TMP_PREFIX
from liveai.storage.s3 import S3Storage
from tests.fakes.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Env
from tests.privacy_helpers import NOW, Seeded, seed_user


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


def _seed(database: Database, storage: Storage, tag: str = "gone") -> Seeded:
    with database.transaction() as session:
        return seed_user(session, storage, tag=tag)


def _identifiers(database: Database, user_id: uuid.UUID) -> dict[str, list[str]]:
    with database.transaction() as session:
        return erasure_text.capture(session, user_id)


def _tombstone(database: Database) -> uuid.UUID:
    with database.transaction() as session:
        return session.scalars(select(User.id).where(User.status == UserStatus.ERASED)).one()


# --- 2. free text ---------------------------------------------------------------------


def test_free_text_goes_and_keys_naming_the_user_become_hashes(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    email = "gone@privaterelay.appleid.com"
    promo_key = f"promo:launch:{gone.subject}"
    with database.transaction() as session:
        ledger.grant(session, gone.user_id, 5, key=promo_key, reason=f"asked by {email}")
        request = register.open_request(
            session,
            gone.user_id,
            kind=RequestKind.EXPORT,
            channel="email",
            received_at=NOW,
            working_days=15,
        )
        register.refuse(session, request, "Person gone wrote from another address")
    found = _identifiers(database, gone.user_id)
    assert found["subjects"] == [gone.subject] and found["emails"] == [email]

    Eraser(database, storage, Upstream()).run(gone.user_id)

    tomb = _tombstone(database)
    with database.transaction() as session:
        keys = set(session.scalars(select(Transfer.key).where(Transfer.user_id == tomb)))
        reasons = set(session.scalars(select(Transfer.reason).where(Transfer.user_id == tomb)))
        kept_request = session.scalars(
            select(PrivacyRequest).where(PrivacyRequest.user_id == tomb)
        ).one()
        assert promo_key not in keys
        assert "erased:" + hashlib.sha256(promo_key.encode()).hexdigest()[:32] in keys
        assert reasons == {None}
        assert kept_request.refusal_reason is None
        assert verify_erased(session, storage, gone.user_id, found) == []
        assert ledger.reconcile(session).ok


def test_verification_finds_an_identifier_in_any_text_column(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    with database.transaction() as session:
        session.add(  # someone else's row that names the erased user
            StoreNotification(
                notification_uuid=str(uuid.uuid4()),
                notification_type="REFUND",
                reason=gone.subject,
                outcome="ignored",
                received_at=NOW,
            )
        )
    with pytest.raises(Conflict, match=r"store_notifications\.reason \(1 rows\)"):
        Eraser(database, storage, Upstream()).run(gone.user_id)


def test_every_text_column_of_a_kept_table_is_classified() -> None:
    """A new column in a table erasure keeps must say whether an operator types into it."""
    kept = {rule.table for rule in DEFAULT_INVENTORY.tables if rule.erasure.action != "delete"}
    for table in Base.metadata.sorted_tables:
        if table.name not in kept or table.name in ("audit_events", "erasure_runs", "users"):
            continue
        named = set(erasure_text.FREE_TEXT.get(table.name, ()))
        named |= set(erasure_text.SYSTEM_TEXT.get(table.name, ()))
        for column in erasure_text.text_columns(table):
            assert column.name in named, f"classify {table.name}.{column.name} in erasure_text"


# --- 3. the audit log -----------------------------------------------------------------


def test_no_audit_event_links_the_old_id_to_the_pseudonym(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    with database.transaction() as session:
        request = register.open_request(
            session,
            gone.user_id,
            kind=RequestKind.DELETION,
            channel="in-app",
            received_at=NOW,
            working_days=15,
        )
        request_id = request.id
        mentioning = session.scalar(
            select(func.count()).where(cast(AuditEvent.details, Text).contains(str(request_id)))
        )
        assert mentioning  # the register did name the request in the log
    Eraser(database, storage, Upstream()).run(gone.user_id, request_id=request_id)

    tomb = _tombstone(database)
    with database.transaction() as session:
        moved = [
            str(i) for i in session.scalars(select(Transfer.id).where(Transfer.user_id == tomb))
        ]
        moved += [
            str(i) for i in session.scalars(select(Purchase.id).where(Purchase.user_id == tomb))
        ]
        moved += list(
            session.scalars(select(Purchase.transaction_id).where(Purchase.user_id == tomb))
        )
        run = session.scalars(select(ErasureRun)).one()
        assert run.request_id is None and run.pseudonym_id is None and run.identifiers is None
        # The request register goes on under the pseudonym (the erasure settles the request,
        # staff confirm its steps later), so what is written since may name the request and
        # the pseudonym, but never the old id or the run that remembers it.
        later = session.scalars(select(AuditEvent).where(AuditEvent.user_id == tomb)).all()
        assert later and {e.action.split(".")[0] for e in later} == {"request"}
        assert all(e.at >= run.started_at for e in later)
        moved += [str(gone.user_id), str(run.id)]
        details = cast(AuditEvent.details, Text)
        for value in moved:
            hits = session.scalar(
                select(func.count()).where(
                    details.contains(value), AuditEvent.action != "erasure.completed"
                )
            )
            assert not hits, f"an audit event still names {value}"
        assert not session.scalar(select(func.count()).where(AuditEvent.user_id == gone.user_id))
        assert audit.verify_chain(session).ok


# --- 4. versioned buckets and object locks --------------------------------------------


def _s3_client(env: S3Env):  # type: ignore[no-untyped-def]
    return env.session.client(
        "s3",
        endpoint_url=env.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def versioned(s3_env: S3Env) -> Iterator[S3Storage]:
    client = _s3_client(s3_env)
    client.put_bucket_versioning(
        Bucket=s3_env.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    client.close()
    storage = s3_env.storage()
    yield storage
    storage.close()


def test_erasure_on_a_versioned_bucket_leaves_no_version(
    database: Database, versioned: S3Storage
) -> None:
    gone = _seed(database, versioned)
    for key, body in gone.media.items():  # older versions, and a deleted object's marker
        versioned.put(key, body + b" v2", content_type="application/octet-stream")
    stray = result_key(gone.user_id, "stray.mp4")
    versioned.put(stray, b"old", content_type="video/mp4")
    versioned.delete_many([])  # learn the bucket's versioning
    versioned.client.delete_object(Bucket=versioned.bucket, Key=stray)  # marker only
    with database.transaction() as session:
        left = verify_erased(session, versioned, gone.user_id)
    assert f"storage under {user_prefix(gone.user_id)}" in left

    found = _identifiers(database, gone.user_id)
    run = Eraser(database, versioned, Upstream()).run(gone.user_id)

    assert list(versioned.versions(user_prefix(gone.user_id))) == []
    assert run.report["objects_deleted"] >= len(gone.media) + 1
    with database.transaction() as session:  # tables, text columns, audit details, versions
        assert verify_erased(session, versioned, gone.user_id, found) == []


def test_a_compliance_lock_refuses_the_erasure_with_its_reason(
    database: Database, s3_env: S3Env
) -> None:
    client = _s3_client(s3_env)
    bucket = f"liveai-lock-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    locked = S3Storage(client, bucket, endpoint=s3_env.endpoint)
    gone = _seed(database, locked)
    with pytest.raises(Conflict, match="COMPLIANCE mode, which no one can shorten"):
        Eraser(database, locked, Upstream()).run(gone.user_id)
    with database.transaction() as session:
        assert session.get_one(User, gone.user_id).status is UserStatus.DELETION_PENDING
    client.close()


# --- 5. tasks delete ------------------------------------------------------------------


class RefusingStorage:
    """Refuses every delete, as a bucket with a deny policy or a lock would."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def delete_many(self, keys: Sequence[str]) -> DeleteReport:
        return DeleteReport((), tuple((key, "AccessDenied: Access Denied") for key in keys))

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_tasks_delete_keeps_the_task_when_storage_refuses(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    task_id = gone.task_ids[0]
    with (
        database.transaction() as session,
        pytest.raises(UpstreamError, match=r"refused to delete 2 of task .* the task is kept"),
    ):
        delete_task(session, RefusingStorage(storage), task_id, clock=SYSTEM_CLOCK)  # type: ignore[arg-type]
    with database.transaction() as session:
        task = session.get_one(Task, task_id)
        assert task.deleted_at is None and task.result_key is not None
        delete_task(session, storage, task_id, clock=SYSTEM_CLOCK)
    with database.transaction() as session:
        assert session.get_one(Task, task_id).deleted_at is not None
    assert not any(storage.exists(key) for key in gone.media if str(task_id) in key)


def test_tasks_delete_on_a_versioned_bucket_leaves_no_version(
    database: Database, versioned: S3Storage
) -> None:
    gone = _seed(database, versioned)
    with database.transaction() as session:
        task = session.get_one(Task, gone.task_ids[0])
        keys = [task.result_key or ""]
        versioned.put(keys[0], b"second version", content_type="video/mp4")
        delete_task(session, versioned, task.id, clock=SYSTEM_CLOCK)
    for key in keys:
        assert list(versioned.versions(key)) == []


# --- 6. faults ------------------------------------------------------------------------


def test_pending_holds_are_voided_before_the_books_move(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    in_flight, stale = task_keys(uuid.uuid4()), task_keys(uuid.uuid4())
    with database.transaction() as session:
        ledger.hold(
            session,
            gone.user_id,
            30,
            key=in_flight.hold,
            reference=in_flight.reference,
            timeout=timedelta(hours=6),
            reason="generation",
        )
        ledger.hold(  # past its timeout, not yet swept: it cannot be voided, only expired
            session,
            gone.user_id,
            20,
            key=stale.hold,
            reference=stale.reference,
            timeout=timedelta(seconds=1),
            reason="generation",
            clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)),
        )
    Eraser(database, storage, Upstream()).run(gone.user_id)
    tomb = _tombstone(database)
    with database.transaction() as session:
        assert ledger.balance(session, tomb).pending == 0
        assert ledger.list_holds(session, tomb) == []
        assert ledger.reconcile(session).ok


def test_an_erasure_restricts_the_account_even_when_storage_is_down(
    cli, database: Database, monkeypatch: pytest.MonkeyPatch, s3_env: S3Env
) -> None:
    from liveai.generation.tasks import NewTask, create_task
    from liveai.settings import load_settings

    gone = _seed(database, s3_env.storage())
    monkeypatch.setenv("LIVEAI_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("LIVEAI_S3_MAX_ATTEMPTS", "1")
    result = cli("users", "erase", str(gone.user_id), "--yes")
    assert result.exit_code == 6, result.output
    assert "cannot" in result.stderr and "Traceback" not in result.output
    with database.transaction() as session:
        assert session.get_one(User, gone.user_id).status is UserStatus.DELETION_PENDING
    with database.transaction() as session, pytest.raises(Conflict, match="processing has stopped"):
        create_task(
            session,
            s3_env.storage(),
            {},
            load_settings(),
            gone.user_id,
            NewTask(image=b""),
            clock=SYSTEM_CLOCK,
        )


def test_partial_writes_under_the_prefix_are_erased(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    folder = storage.root / "users" / str(gone.user_id) / "results"
    (folder / f"{TMP_PREFIX}crashed").write_bytes(b"a whole video")
    with database.transaction() as session:
        assert verify_erased(session, storage, gone.user_id) != []
    Eraser(database, storage, Upstream()).run(gone.user_id)
    assert not (storage.root / "users" / str(gone.user_id)).exists()


def test_concurrent_erasures_of_one_user_make_one_run(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    errors: list[BaseException] = []

    def erase() -> None:
        try:
            Eraser(database, storage, Upstream()).run(gone.user_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=erase) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ErasureRun)) == 1
        tombs = session.scalar(select(func.count()).where(User.status == UserStatus.ERASED))
        assert tombs == 1
        assert ledger.reconcile(session).ok


def test_broken_identity_settings_are_errors_naming_the_setting(
    database: Database, storage: LocalStorage
) -> None:
    from liveai.privacy.upstream import upstream_from_settings

    gone = _seed(database, storage)
    half_apple = Settings(siwa_team_id="TEAM123456", siwa_key_id="KEY1234567")
    with (
        upstream_from_settings(half_apple) as upstream,
        pytest.raises(ConfigError, match="LIVEAI_SIWA_PRIVATE_KEY"),
    ):
        Eraser(database, storage, upstream).run(gone.user_id)
    with database.transaction() as session:
        assert session.get_one(User, gone.user_id).status is UserStatus.DELETION_PENDING
    half_logto = Settings(logto_issuer="https://auth.example.test/oidc", logto_m2m_app_id="m2m")
    with (
        upstream_from_settings(half_logto) as upstream,
        pytest.raises(ConfigError, match="LIVEAI_LOGTO_M2M_APP_SECRET not set"),
    ):
        Eraser(database, storage, upstream).run(gone.user_id)
    with upstream_from_settings(Settings()) as upstream:  # neither configured: by hand
        run = Eraser(database, storage, upstream).run(gone.user_id)
    assert run.report["skipped"] == ["apple", "logto"]


def test_sqlite_keeps_no_erased_value_in_its_file(tmp_path: Path, storage: LocalStorage) -> None:
    from liveai.db import make_engine, upgrade

    path = tmp_path / "embedded.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    database = Database(engine)
    gone = _seed(database, storage)
    marker = b"Person gone"
    Eraser(database, storage, Upstream()).run(gone.user_id)
    database.close()
    files = [path, Path(f"{path}-wal")]
    held = b"".join(f.read_bytes() for f in files if f.exists())
    for value in (marker, gone.subject.encode(), b"gone@privaterelay"):
        assert value not in held, value


def test_the_inventory_says_what_the_audit_log_keeps_of_an_erased_user() -> None:
    rule = DEFAULT_INVENTORY.table_rule("audit_events")
    assert rule is not None and rule.erasure.reason is not None
    assert "redact" in rule.erasure.reason.en and "pseudonym" in rule.erasure.reason.en


def test_moved_rows_keep_day_precision_times_only(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    Eraser(database, storage, Upstream()).run(gone.user_id)
    with database.transaction() as session:
        tomb = session.get_one(User, _tombstone(database))
        assert (tomb.created_at.hour, tomb.created_at.minute, tomb.created_at.second) == (0, 0, 0)
        assert tomb.created_at.tzinfo is not None
        assert tomb.created_at.date() == datetime.now(UTC).date()
        assert session.scalar(select(func.count()).select_from(DataTransfer)) == 3
        dumped = json.dumps([t.items for t in session.scalars(select(DataTransfer))])
        assert "image" in dumped


def test_unfinished_tasks_nobody_runs_are_cancelled_at_their_provider(
    database: Database, storage: LocalStorage
) -> None:
    gone = _seed(database, storage)
    with database.transaction() as session:
        task = session.get_one(Task, gone.task_ids[0])
        task.state, task.provider_task_id = TaskState.SUBMITTED, "kling-remote-1"
        task.finished_at = None
    asked: list[tuple[str, str]] = []
    upstream = Upstream(cancel_task=lambda name, remote: asked.append((name, remote)) or True)

    run = Eraser(database, storage, upstream).run(gone.user_id)

    assert asked == [("kling", "kling-remote-1")]
    assert run.report["tasks_cancelled"] == 1
