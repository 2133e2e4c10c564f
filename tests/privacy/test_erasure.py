from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai import audit, ledger
from liveai.db import Database
from liveai.errors import Conflict, InvalidInput, NotFound
from liveai.models import (
    AuditEvent,
    Base,
    Consent,
    ErasureRun,
    PrivacyRequest,
    Purchase,
    RequestKind,
    RequestState,
    Transfer,
    User,
    UserStatus,
)
from liveai.privacy import requests as reg
from liveai.privacy.erasure import (
    STEPS,
    Eraser,
    ErasureTarget,
    Upstream,
    plan_erasure,
    resume_target,
    verify_erased,
)
from liveai.privacy.fulfil import carry_out, check_work
from liveai.settings import load_settings
from liveai.storage import LocalStorage, user_prefix
from tests.conftest import Cli
from tests.privacy.helpers import LOGTO, Seeded, seed_user


class FakeUpstream:
    def __init__(self) -> None:
        self.revoked: list[uuid.UUID] = []
        self.deleted: list[str] = []

    def upstream(self) -> Upstream:
        return Upstream(
            revoke_apple=self._revoke, delete_logto_user=self._delete, logto_issuer=LOGTO
        )

    def _revoke(self, session: Session, user_id: uuid.UUID) -> int:
        self.revoked.append(user_id)
        return 1

    def _delete(self, sub: str) -> bool:
        self.deleted.append(sub)
        return True


def _seed_two(database: Database, storage: LocalStorage) -> tuple[Seeded, Seeded]:
    with database.transaction() as session:
        return seed_user(session, storage, tag="gone"), seed_user(session, storage, tag="kept")


def _user_rows(database: Database, user_id: uuid.UUID) -> dict[str, int]:
    found = {}
    with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if "user_id" in table.columns and table.name not in ("audit_events", "erasure_runs"):
                n = session.scalar(
                    select(func.count()).select_from(table).where(table.c.user_id == user_id)
                )
                if n:
                    found[table.name] = n
    return found


def test_erasure_removes_everything_and_keeps_the_books(
    database: Database, storage: LocalStorage
) -> None:
    gone, kept = _seed_two(database, storage)
    kept_before = _user_rows(database, kept.user_id)
    fake = FakeUpstream()
    with database.transaction() as session:
        transfers_before = session.scalar(select(func.count()).select_from(Transfer))
    run = Eraser(database, storage, fake.upstream()).run(gone.user_id)

    assert run.completed_at is not None and run.pseudonym_id is None
    assert run.steps_done == list(STEPS)
    assert fake.revoked == [gone.user_id] and fake.deleted == [gone.subject]
    assert run.report["recipients"] == [{"provider": "kling", "region": "mainland_china"}]
    assert _user_rows(database, gone.user_id) == {}
    assert not list(storage.list(user_prefix(gone.user_id)))
    with database.transaction() as session:
        assert verify_erased(session, storage, gone.user_id) == []
        assert session.get(User, gone.user_id) is None
        tombstones = session.scalars(select(User).where(User.status == UserStatus.ERASED)).all()
        assert len(tombstones) == 1
        tomb = tombstones[0]
        assert tomb.display_name is None and tomb.email is None and not tomb.identities
        assert session.scalar(select(func.count()).select_from(Transfer)) == transfers_before
        assert session.scalar(select(func.count()).where(Purchase.user_id == tomb.id)) == 1
        assert ledger.balance(session, tomb.id).posted == 150
        assert ledger.reconcile(session).ok
        assert not session.scalars(
            select(AuditEvent).where(AuditEvent.user_id == gone.user_id)
        ).all()
        completed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "erasure.completed")
        ).one()
        assert completed.user_id is None and completed.details["run_id"] == str(run.id)
        assert audit.verify_chain(session).ok
        proof = session.scalars(
            select(Consent).where(Consent.user_id == tomb.id).order_by(Consent.id)
        ).all()
        assert [(c.kind, c.action) for c in proof] == [
            ("face_editing", "granted"),
            ("cross_border", "granted"),
            ("cross_border", "withdrawn"),
        ]
        evidence = json.dumps([c.evidence for c in proof])
        assert "gone@" not in evidence and str(gone.user_id) not in evidence
        assert proof[1].evidence["note"] == "removed at erasure"
        assert proof[0].evidence["app_version"] == "2.3.0"
        dumped = json.dumps([r for r in session.scalars(select(ErasureRun)).one().report.values()])
        assert "gone@" not in dumped and "Person" not in dumped and gone.subject not in dumped
    assert _user_rows(database, kept.user_id) == kept_before
    assert len(list(storage.list(user_prefix(kept.user_id)))) == 6


@pytest.mark.parametrize("crash_at", STEPS)
def test_a_crash_at_any_step_is_finished_by_a_rerun(
    database: Database, storage: LocalStorage, crash_at: str
) -> None:
    gone, _ = _seed_two(database, storage)
    fake = FakeUpstream()

    class Crashing(Eraser):
        pass

    original = getattr(Eraser, f"_step_{crash_at}")

    def crash(self, session, run):  # type: ignore[no-untyped-def]
        original(self, session, run)
        raise KeyboardInterrupt(f"power cut after {crash_at}")

    setattr(Crashing, f"_step_{crash_at}", crash)
    with pytest.raises(KeyboardInterrupt):
        Crashing(database, storage, fake.upstream()).run(gone.user_id)
    run = Eraser(database, storage, fake.upstream()).run(gone.user_id)
    assert run.completed_at is not None
    with database.transaction() as session:
        assert verify_erased(session, storage, gone.user_id) == []
        assert session.scalar(select(func.count()).select_from(ErasureRun)) == 1
        assert ledger.reconcile(session).ok
        assert session.scalar(select(func.count()).where(User.status == UserStatus.ERASED)) == 1


def test_dry_run_plan_changes_nothing(database: Database, storage: LocalStorage) -> None:
    gone, _ = _seed_two(database, storage)
    before = _user_rows(database, gone.user_id)
    with database.transaction() as session:
        plan = plan_erasure(session, storage, gone.user_id, Upstream())
    assert plan.objects == 6
    assert plan.rows["tasks (delete)"] == 3
    assert plan.rows["ledger_transfers (pseudonymise)"] == 2
    assert len(plan.manual) == 2
    assert _user_rows(database, gone.user_id) == before


def test_unconfigured_services_are_skipped_with_instructions(
    database: Database, storage: LocalStorage
) -> None:
    gone, _ = _seed_two(database, storage)
    run = Eraser(database, storage, Upstream()).run(gone.user_id)
    assert run.report["skipped"] == ["apple", "logto"]
    assert any("iOS Settings" in note for note in run.report["manual"])


def test_every_user_linked_table_is_covered(database: Database, storage: LocalStorage) -> None:
    """A new table with a user_id must be handled: the verification scan would find it."""
    gone, _ = _seed_two(database, storage)
    Eraser(database, storage, FakeUpstream().upstream()).run(gone.user_id)
    with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if "user_id" in table.columns and table.name not in ("audit_events", "erasure_runs"):
                left = session.scalar(
                    select(func.count()).select_from(table).where(table.c.user_id == gone.user_id)
                )
                assert left == 0, table.name


def test_cli_erase(cli: Cli, db_url: str, isolated_env: Path) -> None:
    from liveai.db import make_engine

    database = Database(make_engine(db_url))
    storage = LocalStorage(isolated_env / "storage")
    gone, _ = _seed_two(database, storage)
    database.close()
    dry = cli("users", "erase", gone.subject, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["storage_objects"] == 6
    refused = cli("users", "erase", gone.subject)
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    done = cli("users", "erase", gone.subject, "--yes", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["completed_at"] and report["skipped"] == ["apple", "logto"]
    assert "do by hand" in done.stderr
    assert cli("users", "show", gone.subject).exit_code == 3


def test_a_restricted_account_cannot_generate(database: Database, storage: LocalStorage) -> None:
    """A guardian request or an erasure in progress stops processing at once."""
    from liveai.clock import SYSTEM_CLOCK
    from liveai.errors import Conflict
    from liveai.generation.tasks import NewTask, create_task
    from liveai.providers.base import Motion
    from liveai.settings import load_settings

    gone, _ = _seed_two(database, storage)
    with database.transaction() as session:
        session.get_one(User, gone.user_id).status = UserStatus.DELETION_PENDING
    with database.transaction() as session, pytest.raises(Conflict, match="processing has stopped"):
        create_task(
            session,
            storage,
            {},
            load_settings(),
            gone.user_id,
            NewTask(image=b"", prompt="p", motion=Motion.STATIC),
            clock=SYSTEM_CLOCK,
        )


def test_the_kept_request_holds_no_personal_note(database: Database, storage: LocalStorage) -> None:
    from datetime import UTC, datetime

    from liveai.models import PrivacyRequest, RequestKind
    from liveai.privacy import requests as reg

    gone, _ = _seed_two(database, storage)
    with database.transaction() as session:
        request = reg.open_request(
            session,
            gone.user_id,
            kind=RequestKind.DELETION,
            channel="email",
            received_at=datetime(2026, 11, 20, tzinfo=UTC),
            working_days=15,
        )
        reg.verify_manually(session, request, "Ann called from +86 138 0000 0000")
        request_id = request.id
    run = Eraser(database, storage, Upstream()).run(gone.user_id, request_id=request_id)
    with database.transaction() as session:
        kept = session.get_one(PrivacyRequest, request_id)
        assert kept.verification_note is None and kept.verification == "manual"
        assert session.get_one(User, kept.user_id).status is UserStatus.ERASED
    assert run.request_id is None  # the run forgets the request, now the pseudonym's


def test_cli_erase_of_an_unknown_user_exits_3(cli: Cli) -> None:
    result = cli("users", "erase", "ghost", "--yes")
    assert result.exit_code == 3 and "no user 'ghost'" in result.stderr
    assert "Traceback" not in result.output


def _verified_request(database: Database, user_id: uuid.UUID, kind: RequestKind) -> uuid.UUID:
    with database.transaction() as session:
        request = reg.open_request(
            session,
            user_id,
            kind=kind,
            channel="email",
            received_at=datetime(2026, 11, 20, tzinfo=UTC),
            working_days=15,
        )
        reg.verify_manually(session, request, "checked by a call back")
        return request.id


def test_resume_target_finds_the_user_then_the_half_erased_account(
    database: Database, storage: LocalStorage
) -> None:
    gone, _ = _seed_two(database, storage)
    with database.transaction() as session:
        assert resume_target(session, gone.subject) == ErasureTarget(gone.user_id)
        with pytest.raises(NotFound):
            resume_target(session, str(uuid.uuid4()))
        with pytest.raises(NotFound, match="no user 'ghost'"):
            resume_target(session, "ghost")

    class Crashing(Eraser):
        def _step_text(self, session, run):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt("power cut once the tombstone step committed")

    with pytest.raises(KeyboardInterrupt):
        Crashing(database, storage, Upstream()).run(gone.user_id)
    with database.transaction() as session:
        assert session.get(User, gone.user_id) is None
        assert resume_target(session, str(gone.user_id)) == ErasureTarget(gone.user_id, True)
    Eraser(database, storage, Upstream()).run(gone.user_id)
    with database.transaction() as session, pytest.raises(NotFound):
        resume_target(session, str(gone.user_id))  # finished: nothing left to resume


def test_carry_out_erases_and_settles_the_request(
    database: Database, storage: LocalStorage
) -> None:
    gone, kept = _seed_two(database, storage)
    request_id = _verified_request(database, gone.user_id, RequestKind.DELETION)
    with database.transaction() as session:
        work = check_work(session, str(request_id))
    assert (work.user_id, work.exports, work.resuming) == (gone.user_id, False, False)
    done = carry_out(
        database,
        work,
        storage=storage,
        settings=load_settings(),
        upstream=FakeUpstream().upstream(),
    )
    assert done.run is not None and done.run.completed_at is not None
    assert done.run.report["request_state"] == "completed"
    with database.transaction() as session:
        assert session.get_one(PrivacyRequest, request_id).state is RequestState.COMPLETED
        assert verify_erased(session, storage, gone.user_id) == []
        with pytest.raises(Conflict):  # nothing left to do
            check_work(session, str(request_id))
    assert len(list(storage.list(user_prefix(kept.user_id)))) == 6


def test_check_work_refuses_what_it_cannot_carry_out(
    database: Database, storage: LocalStorage
) -> None:
    gone, _ = _seed_two(database, storage)
    by_hand = _verified_request(database, gone.user_id, RequestKind.CORRECTION)
    export = _verified_request(database, gone.user_id, RequestKind.EXPORT)
    with database.transaction() as session:
        with pytest.raises(InvalidInput, match="carried out by hand"):
            check_work(session, str(by_hand))
        with pytest.raises(InvalidInput, match="needs --out"):
            check_work(session, str(export))
        assert check_work(session, str(export), dry_run=True).exports
