"""End the legal retention of kept records, as the policy states it.

The policy keeps these records past an account's deletion, each for a number of
years the operator facts give (`Retention.years` in the inventory names which):

- request records: deleted when their period after the request closed has passed (every
  request, the account erased or not);
- consent records and records of who received data (data transfers) of an erased account:
  deleted when their period after the erasure has passed (the account's tombstone was
  created at the erasure);
- accounting records of an erased account (purchases, ledger transfers): when their
  period after the erasure has passed, the purchases (Apple's transaction ids, product
  ids) and Apple's notifications about them are deleted, and each ledger transfer keeps
  only its amount, kind and accounts: its key and reference (which spell Apple's
  transaction id) and its reason become ``retired:<transfer id>`` and nothing. Amounts
  and accounts stay, so every balance still equals the sum of its transfers and the
  ledger reconciles.

Each account is one transaction, so a crash is finished by running the sweep again, and a
record done is never chosen again (its key is retired, or it is gone). A period whose
operator fact is absent ends nothing: the report names it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, delete, func, not_, or_, select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.db import Database
from liveai.errors import Conflict
from liveai.models import (
    Base,
    Consent,
    DataTransfer,
    PrivacyRequest,
    Purchase,
    RequestState,
    RequestStep,
    StoreNotification,
    Transfer,
    User,
    UserStatus,
)
from liveai.privacy.facts import OperatorFacts
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.privacy.inventory_types import Inventory
from liveai.retention.status import CategoryStatus
from liveai.retention.uploads import LATE_AFTER

RETIRED = "retired:"
ENDED_TABLES = (
    "privacy_requests",
    "consents",
    "data_transfers",
    "purchases",
    "ledger_transfers",
)
"""The tables whose kept records this sweep ends."""
CLOSED = (RequestState.COMPLETED, RequestState.REFUSED)
BATCH_SIZE = 500


@dataclass
class RecordsReport:
    dry_run: bool
    now: datetime
    cutoffs: dict[str, str | None] = field(default_factory=dict)
    """Per operator fact: records older than this end (None: the fact is not given)."""
    requests_deleted: int = 0
    consents_deleted: int = 0
    data_transfers_deleted: int = 0
    purchases_deleted: int = 0
    transfers_retired: int = 0
    accounts: int = 0
    """Erased accounts whose records ended."""

    @property
    def warnings(self) -> list[str]:
        return [
            f"retention.{name} is not in the operator facts: records under it are kept"
            for name, cutoff in self.cutoffs.items()
            if cutoff is None
        ]

    def to_dict(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "now": self.now.isoformat(),
            "cutoffs": self.cutoffs,
            "requests_deleted": self.requests_deleted,
            "consents_deleted": self.consents_deleted,
            "data_transfers_deleted": self.data_transfers_deleted,
            "purchases_deleted": self.purchases_deleted,
            "transfers_retired": self.transfers_retired,
            "accounts": self.accounts,
            "warnings": self.warnings,
        }


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _period(inventory: Inventory, table: str) -> str:
    """The operator fact giving how many years the inventory keeps ``table``'s records."""
    rule = inventory.table_rule(table)
    names = {inventory.category(k).retention.years for k in (rule.categories if rule else ())}
    if len(names) != 1 or None in names:
        raise Conflict(f"the data inventory gives {table} no single legal retention period")
    return str(names.pop())


def sweep_records(
    database: Database,
    facts: OperatorFacts,
    *,
    now: datetime,
    dry_run: bool = False,
    inventory: Inventory = DEFAULT_INVENTORY,
    actor: str = "system",
) -> RecordsReport:
    """End every kept record whose legal period has passed (see the module)."""
    report = RecordsReport(dry_run, now)
    cutoffs: dict[str, datetime | None] = {}
    for table in ENDED_TABLES:
        name = _period(inventory, table)
        years = getattr(facts.retention, name)
        cutoff = years_before(now, years) if years else None
        cutoffs[table] = cutoff
        report.cutoffs[name] = cutoff.isoformat() if cutoff else None
    if cutoffs["privacy_requests"] is not None:
        _end_requests(database, cutoffs["privacy_requests"], report, actor)
    erased = {t: c for t, c in cutoffs.items() if t != "privacy_requests" and c is not None}
    if erased:
        _end_erased(database, erased, report, actor)
    return report


def _closed_before(cutoff: datetime) -> ColumnElement[bool]:
    closed_at = func.coalesce(PrivacyRequest.completed_at, PrivacyRequest.updated_at)
    return PrivacyRequest.state.in_(CLOSED) & (closed_at <= cutoff)


def _end_requests(database: Database, cutoff: datetime, report: RecordsReport, actor: str) -> None:
    while True:
        with database.transaction() as session:
            query = select(PrivacyRequest.id).where(_closed_before(cutoff))
            if report.dry_run:
                report.requests_deleted = len(session.scalars(query).all())
                return
            ids = session.scalars(query.limit(BATCH_SIZE)).all()
            if not ids:
                return
            session.execute(delete(RequestStep).where(RequestStep.request_id.in_(ids)))
            session.execute(delete(PrivacyRequest).where(PrivacyRequest.id.in_(ids)))
            audit.record(
                session,
                "retention.requests_deleted",
                details={"count": len(ids), "closed_before": cutoff.isoformat()},
                actor=actor,
            )
            report.requests_deleted += len(ids)


def _end_erased(
    database: Database, cutoffs: dict[str, datetime], report: RecordsReport, actor: str
) -> None:
    """Erased accounts one by one, oldest erasure first; each in its own transaction.
    ``cutoffs``: per table, accounts erased before it have served that table's period."""
    with database.transaction() as session:
        tombstones = session.execute(
            select(User.id, User.created_at)
            .where(User.status == UserStatus.ERASED, User.created_at <= max(cutoffs.values()))
            .order_by(User.created_at)
        ).all()
    for pseudonym, erased_at in tombstones:
        due = {table for table, cutoff in cutoffs.items() if erased_at <= cutoff}
        with database.transaction() as session:
            ended = _end_account(session, pseudonym, due, report)
            if ended and not report.dry_run:
                audit.record(
                    session,
                    "retention.records_ended",
                    details={**ended, "erased_at": erased_at.isoformat()},
                    actor=actor,
                )
            report.accounts += bool(ended)


def _end_account(
    session: Session, pseudonym: uuid.UUID, due: set[str], report: RecordsReport
) -> dict[str, int]:
    """End what is due (by table) for one tombstone; what ended, by kind (nothing: empty)."""
    ended: dict[str, int] = {}
    if "consents" in due:
        ended["consents"] = _delete(session, Consent, Consent.user_id == pseudonym, report)
    if "data_transfers" in due:
        ended["data_transfers"] = _delete(
            session, DataTransfer, DataTransfer.user_id == pseudonym, report
        )
    if "purchases" in due:
        ended["notifications"] = _delete(
            session, StoreNotification, _notifications_of(pseudonym), report
        )
        ended["purchases"] = _delete(session, Purchase, Purchase.user_id == pseudonym, report)
    if "ledger_transfers" in due:
        ended["transfers"] = _retire_transfers(session, pseudonym, report.dry_run)
    report.consents_deleted += ended.get("consents", 0)
    report.data_transfers_deleted += ended.get("data_transfers", 0)
    report.purchases_deleted += ended.get("purchases", 0)
    report.transfers_retired += ended.get("transfers", 0)
    return {kind: count for kind, count in ended.items() if count}


def _delete(
    session: Session, model: type[Base], where: ColumnElement[bool], report: RecordsReport
) -> int:
    count = session.scalar(select(func.count()).select_from(model).where(where)) or 0
    if count and not report.dry_run:
        session.execute(delete(model).where(where))
    return int(count)


def _notifications_of(pseudonym: uuid.UUID) -> ColumnElement[bool]:
    """Apple's notifications about the account's purchases (they spell the transaction id)."""
    ids = select(Purchase.transaction_id).where(Purchase.user_id == pseudonym)
    originals = select(Purchase.original_transaction_id).where(Purchase.user_id == pseudonym)
    return StoreNotification.transaction_id.in_(ids.union(originals))


def _retire_transfers(session: Session, pseudonym: uuid.UUID, dry_run: bool) -> int:
    live = (Transfer.user_id == pseudonym) & or_(
        not_(Transfer.key.startswith(RETIRED, autoescape=True)),
        Transfer.reference.is_not(None),
        Transfer.reason.is_not(None),
    )
    transfers = session.scalars(select(Transfer).where(live)).all()
    if not dry_run:
        for transfer in transfers:
            transfer.key = f"{RETIRED}{transfer.id}"
            transfer.reference = None
            transfer.reason = None
        session.flush()
    return len(transfers)


def years_after(moment: datetime, years: int) -> datetime:
    return years_before(moment, -years)


def kept_status(
    session: Session,
    facts: OperatorFacts,
    now: datetime,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> list[CategoryStatus]:
    """What is kept past its use (requests, and an erased account's consent, transfer and
    accounting records), its legal period, and what is due or overdue for `retention records`."""
    erased = select(User.id, User.created_at).where(User.status == UserStatus.ERASED).subquery()
    closed_at = func.coalesce(PrivacyRequest.completed_at, PrivacyRequest.updated_at)
    live = or_(
        not_(Transfer.key.startswith(RETIRED, autoescape=True)), Transfer.reference.is_not(None)
    )
    kinds = (
        ("request records", "privacy_requests", "after the request closes",
         select(closed_at.label("since")).where(PrivacyRequest.state.in_(CLOSED))),
        ("consent records of erased accounts", "consents", "after the erasure",
         select(erased.c.created_at.label("since")).join(Consent, Consent.user_id == erased.c.id)),
        ("transfer records of erased accounts", "data_transfers", "after the erasure",
         select(erased.c.created_at.label("since"))
         .join(DataTransfer, DataTransfer.user_id == erased.c.id)),
        ("accounting records of erased accounts", "purchases", "after the erasure",
         select(erased.c.created_at.label("since"))
         .join(Purchase, Purchase.user_id == erased.c.id)
         .union_all(
             select(erased.c.created_at.label("since"))
             .join(Transfer, Transfer.user_id == erased.c.id)
             .where(live)
         )),
    )  # fmt: skip
    return [
        _kept(session, facts, now, label, _period(inventory, table), when, rows.subquery())
        for label, table, when, rows in kinds
    ]


def _kept(
    session: Session,
    facts: OperatorFacts,
    now: datetime,
    label: str,
    period: str,
    when: str,
    rows: Subquery,
) -> CategoryStatus:
    years = getattr(facts.retention, period)
    held, first = session.execute(select(func.count(), func.min(rows.c.since))).one()
    if not years:
        return CategoryStatus(label, f"retention.{period} not given", held, None, None, 0)
    late = years_before(now, years) - LATE_AFTER
    overdue = session.scalar(select(func.count()).where(rows.c.since <= late)) or 0
    next_due = years_after(first, years) if first is not None else None
    return CategoryStatus(label, f"{years} years {when}", held, None, next_due, overdue)
