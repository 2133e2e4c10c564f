from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from liveai import ledger
from liveai.clock import FixedClock
from liveai.db import Database
from liveai.models import (
    Base,
    Consent,
    DataTransfer,
    PrivacyRequest,
    Purchase,
    RequestKind,
    RequestState,
    StoreNotification,
    Transfer,
    User,
    UserStatus,
)
from liveai.privacy import requests as reg
from liveai.privacy.erasure import Eraser, Upstream
from liveai.privacy.facts import EMPTY, EXAMPLE, RetentionFacts, load_facts
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.privacy.steps import confirm_step
from liveai.retention import records
from liveai.retention.records import RETIRED, sweep_records
from liveai.storage import LocalStorage
from tests.conftest import Cli
from tests.privacy.helpers import seed_user

ERASED_AT = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
FACTS = EMPTY.model_copy(
    update={
        "retention": RetentionFacts(
            accounting_years=10, request_records_years=3, transfer_records_years=3
        )
    }
)


def _world(database: Database, tmp_path: Path) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A user erased at ERASED_AT (with a closed deletion request), a user who stays (with
    a request refused the same day): (the tombstone, the kept user, the kept request)."""
    storage = LocalStorage(tmp_path / "storage")
    clock = FixedClock(ERASED_AT)
    with database.transaction() as session:
        gone = seed_user(session, storage, tag="gone")
        kept = seed_user(session, storage, tag="kept")
        kept_request = reg.open_request(
            session,
            kept.user_id,
            kind=RequestKind.EXPORT,
            channel="email",
            received_at=ERASED_AT - timedelta(days=1),
            working_days=15,
            clock=clock,
        )
        reg.refuse(session, kept_request, "not the account holder", clock=clock)
        request = reg.open_request(
            session,
            gone.user_id,
            kind=RequestKind.DELETION,
            channel="in-app",
            received_at=ERASED_AT - timedelta(days=1),
            working_days=15,
            clock=clock,
        )
        reg.verify_manually(session, request, "signed in", clock=clock)
        request_id, kept_request_id = request.id, kept_request.id
    Eraser(database, storage, Upstream(), clock=clock).run(gone.user_id, request_id=request_id)
    with database.transaction() as session:
        request = session.get_one(PrivacyRequest, request_id)
        assert request.state is RequestState.AWAITING_MANUAL  # the erasure settled it
        for step in ("apple", "logto"):
            confirm_step(session, request, step, "done by hand", clock=clock)
        assert request.state is RequestState.COMPLETED  # type: ignore[comparison-overlap]  # confirm_step moves it
        tomb = session.scalars(select(User.id).where(User.status == UserStatus.ERASED)).one()
    return tomb, kept.user_id, kept_request_id


def _count(database: Database, model: type[Base], *where: object) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_each_kept_record_ends_when_its_legal_period_has_passed(
    database: Database, tmp_path: Path
) -> None:
    tomb, kept, _ = _world(database, tmp_path)
    with database.transaction() as session:
        balance = ledger.balance(session, tomb)
        for purchase in session.scalars(select(Purchase)):
            session.add(
                StoreNotification(
                    notification_uuid=str(uuid.uuid4()),
                    notification_type="CONSUMPTION_REQUEST",
                    transaction_id=purchase.transaction_id,
                    outcome="declined",
                    received_at=ERASED_AT,
                )
            )
        kept_keys = session.scalars(select(Transfer.key).where(Transfer.user_id == kept)).all()
        transaction_id = session.scalars(
            select(Purchase.transaction_id).where(Purchase.user_id == tomb)
        ).one()

    early = sweep_records(database, FACTS, now=ERASED_AT + timedelta(days=3 * 365))
    assert (early.requests_deleted, early.consents_deleted, early.purchases_deleted) == (0, 0, 0)
    assert _count(database, Consent, Consent.user_id == tomb) == 3

    proof_over = sweep_records(database, FACTS, now=datetime(2029, 1, 11, tzinfo=UTC))
    assert proof_over.requests_deleted == 2 and proof_over.consents_deleted == 3
    assert proof_over.data_transfers_deleted == 3
    assert _count(database, DataTransfer, DataTransfer.user_id == tomb) == 0
    assert _count(database, DataTransfer, DataTransfer.user_id == kept) == 3
    assert proof_over.purchases_deleted == 0 and proof_over.transfers_retired == 0
    assert _count(database, PrivacyRequest) == 0
    assert _count(database, Consent, Consent.user_id == tomb) == 0
    assert _count(database, Consent, Consent.user_id == kept) == 3
    assert _count(database, Purchase, Purchase.user_id == tomb) == 1

    books_over = sweep_records(database, FACTS, now=datetime(2036, 1, 11, tzinfo=UTC))
    assert books_over.purchases_deleted == 1 and books_over.transfers_retired == 2
    assert books_over.accounts == 1
    with database.transaction() as session:
        assert session.scalar(select(func.count()).where(Purchase.user_id == tomb)) == 0
        retired = session.scalars(select(Transfer).where(Transfer.user_id == tomb)).all()
        assert all(t.key == f"{RETIRED}{t.id}" for t in retired)
        assert all(t.reference is None and t.reason is None for t in retired)
        assert ledger.balance(session, tomb) == balance
        assert ledger.reconcile(session).ok
        assert session.scalars(select(Transfer.key).where(Transfer.user_id == kept)).all() == (
            kept_keys
        )
        assert session.scalar(select(func.count()).where(Purchase.user_id == kept)) == 1
        assert session.scalar(select(func.count()).select_from(StoreNotification)) == 1
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if table.name != "audit_events" and column.type.python_type is str:
                    hits = session.scalar(
                        select(func.count()).where(column.contains(transaction_id))
                    )
                    assert not hits, f"{table.name}.{column.name} still names the purchase"

    again = sweep_records(database, FACTS, now=datetime(2036, 1, 11, tzinfo=UTC))
    assert json.dumps(again.to_dict()).count('"accounts": 0') == 1
    assert (again.consents_deleted, again.purchases_deleted, again.transfers_retired) == (0, 0, 0)


def test_a_crash_while_ending_an_account_changes_nothing_and_a_rerun_finishes(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tomb, _, _ = _world(database, tmp_path)
    later = datetime(2036, 1, 11, tzinfo=UTC)

    def crash(*args: object) -> int:
        raise RuntimeError("power cut")

    retire = records._retire_transfers
    monkeypatch.setattr(records, "_retire_transfers", crash)
    with pytest.raises(RuntimeError):
        sweep_records(database, FACTS, now=later)
    assert _count(database, Purchase, Purchase.user_id == tomb) == 1
    assert _count(database, Consent, Consent.user_id == tomb) == 3

    monkeypatch.setattr(records, "_retire_transfers", retire)
    report = sweep_records(database, FACTS, now=later)
    assert report.purchases_deleted == 1 and report.transfers_retired == 2
    with database.transaction() as session:
        assert ledger.reconcile(session).ok


def test_a_dry_run_and_absent_periods_end_nothing(database: Database, tmp_path: Path) -> None:
    tomb, _, _ = _world(database, tmp_path)
    later = datetime(2040, 1, 1, tzinfo=UTC)
    dry = sweep_records(database, FACTS, now=later, dry_run=True)
    assert (dry.requests_deleted, dry.consents_deleted, dry.purchases_deleted) == (2, 3, 1)
    unknown = sweep_records(database, EMPTY, now=later)
    assert unknown.cutoffs == {
        "request_records_years": None,
        "transfer_records_years": None,
        "accounting_years": None,
    }
    assert len(unknown.warnings) == 3 and "retention.accounting_years" in unknown.warnings[2]
    assert _count(database, Purchase, Purchase.user_id == tomb) == 1
    assert _count(database, Consent, Consent.user_id == tomb) == 3
    assert _count(database, PrivacyRequest) == 2


def test_every_legal_retention_the_policy_states_is_one_the_sweep_ends() -> None:
    """No promise without code: a category kept for years the operator gives is ended by
    `liveai retention records`, and the period names a field of the operator facts."""
    legal = {c.key for c in DEFAULT_INVENTORY.categories if c.retention.kind == "legal"}
    assert all(
        DEFAULT_INVENTORY.category(k).retention.years in RetentionFacts.model_fields for k in legal
    )
    tables = {t.table for t in DEFAULT_INVENTORY.tables if set(t.categories) & legal}
    # ledger_accounts keep only balances (code user:<pseudonym>), which the retired
    # transfers still add up to.
    assert tables == {*records.ENDED_TABLES, "ledger_accounts"}


def test_cli_retention_records(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    facts = tmp_path / "facts.toml"
    facts.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_facts(facts, DEFAULT_INVENTORY).retention.accounting_years == 10
    monkeypatch.setenv("LIVEAI_POLICY_FACTS_FILE", str(facts))
    result = cli("retention", "records", "--now", "2040-01-01", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["dry_run"] is True and shown["cutoffs"]["accounting_years"].startswith("2030-01")
    status = cli("retention", "status", "--json")
    assert status.exit_code == 0, status.stderr
    kept = {row["category"]: row["retention"] for row in json.loads(status.stdout)}
    assert kept["accounting records of erased accounts"] == "10 years after the erasure"
    monkeypatch.delenv("LIVEAI_POLICY_FACTS_FILE")
    result = cli("retention", "records")
    assert result.exit_code == 0
    assert "retention.accounting_years is not in the operator facts" in result.stderr


def test_status_shows_what_is_kept_and_what_the_sweep_is_late_for(
    database: Database, tmp_path: Path
) -> None:
    from liveai.retention.records import kept_status

    _world(database, tmp_path)
    later = datetime(2029, 1, 13, tzinfo=UTC)
    with database.transaction() as session:
        rows = {row.category: row for row in kept_status(session, FACTS, later)}
    requests, consents = rows["request records"], rows["consent records of erased accounts"]
    accounting = rows["accounting records of erased accounts"]
    assert (requests.held, requests.overdue) == (2, 2)
    assert (consents.held, consents.overdue, consents.retention) == (
        3,
        3,
        "3 years after the erasure",
    )
    assert (accounting.held, accounting.overdue) == (3, 0)
    assert rows["transfer records of erased accounts"].overdue == 3
    # The erased account's clock starts on the erasure's day: its tombstone keeps no time.
    assert accounting.next_due == datetime(2036, 1, 10, 0, 0, tzinfo=UTC)
    sweep_records(database, FACTS, now=later)
    with database.transaction() as session:
        rows = {row.category: row for row in kept_status(session, FACTS, later)}
        unknown = kept_status(session, EMPTY, later)
    assert rows["consent records of erased accounts"].held == 0
    assert rows["request records"].overdue == 0
    assert unknown[0].retention == "retention.request_records_years not given"
