"""Account erasure across every store, resumable step by step.

Steps run in order and each is recorded in ``erasure_runs`` in the same transaction as
its database effects; the remote ones (storage, Apple, Logto) are idempotent, so a crash
anywhere is finished by running the same erasure again. What each user-linked table gets
comes from the data inventory: ``delete`` removes the rows; ``pseudonymise`` and
``retain`` move them to a fresh tombstone user whose id is linked to nothing (the link
is dropped when the run completes), except tables without a foreign key to users (the
audit log and the runs themselves), which keep the bare id and hold no personal data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    Column,
    CursorResult,
    Enum,
    Result,
    String,
    Table,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.errors import Conflict, NotFound
from liveai.models import (
    Base,
    DataTransfer,
    ErasureRun,
    Identity,
    PrivacyRequest,
    User,
    UserStatus,
)
from liveai.privacy import consents
from liveai.privacy.inventory import DEFAULT_INVENTORY, Inventory, user_linked_tables
from liveai.storage import Storage, user_prefix

KEEP_BARE_ID = frozenset({"audit_events", "erasure_runs"})
STEPS = ("restrict", "apple", "logto", "recipients", "storage", "rows", "tombstone", "verify")


@dataclass(frozen=True)
class Upstream:
    """The remote accounts to close; None where the service is not configured here."""

    Revoker = Callable[[Session, uuid.UUID], int]
    Deleter = Callable[[str], bool]

    revoke_apple: Revoker | None = None
    delete_logto_user: Deleter | None = None
    logto_issuer: str | None = None


@dataclass
class ErasurePlan:
    user_id: uuid.UUID
    rows: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    recipients: list[dict[str, str]] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)


def _user_tables(inventory: Inventory) -> list[tuple[Table, str]]:
    """(table, action) for every user-linked table but users, children first."""
    linked = set(user_linked_tables(Base.metadata)) - {"users"}
    found: list[tuple[Table, str]] = []
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in linked:
            rule = inventory.table_rule(table.name)
            if rule is None:
                raise Conflict(f"table {table.name} is not classified in the data inventory")
            found.append((table, rule.erasure.action))
    return found


def _count(session: Session, table: Table, user_id: uuid.UUID) -> int:
    return (
        session.scalar(select(func.count()).select_from(table).where(table.c.user_id == user_id))
        or 0
    )


def _recipients(session: Session, user_id: uuid.UUID) -> list[dict[str, str]]:
    rows = session.execute(
        select(DataTransfer.provider, DataTransfer.region)
        .where(DataTransfer.user_id == user_id)
        .distinct()
        .order_by(DataTransfer.provider)
    )
    return [{"provider": provider, "region": region} for provider, region in rows]


APPLE_BY_HAND = (
    "Sign in with Apple is not configured here: the user must revoke the app in "
    "iOS Settings > Apple ID > Sign in with Apple (TN3194)"
)
LOGTO_BY_HAND = "the Logto Management API is not configured: delete the user in Logto's console"


def _manual_steps(upstream: Upstream) -> list[str]:
    notes = []
    if upstream.revoke_apple is None:
        notes.append(APPLE_BY_HAND)
    if upstream.delete_logto_user is None:
        notes.append(LOGTO_BY_HAND)
    return notes


def plan_erasure(
    session: Session,
    storage: Storage,
    user_id: uuid.UUID,
    upstream: Upstream,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> ErasurePlan:
    """What an erasure would remove or pseudonymise: the --dry-run report."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    plan = ErasurePlan(user_id)
    for table, action in _user_tables(inventory):
        if table.name not in KEEP_BARE_ID:
            plan.rows[f"{table.name} ({action})"] = _count(session, table, user_id)
    plan.objects = sum(1 for _ in storage.list(user_prefix(user_id)))
    plan.recipients = _recipients(session, user_id)
    plan.manual = _manual_steps(upstream)
    return plan


class Eraser:
    """Runs (or resumes) the erasure of one account."""

    def __init__(
        self,
        database: Database,
        storage: Storage,
        upstream: Upstream,
        *,
        inventory: Inventory = DEFAULT_INVENTORY,
        actor: str = "system",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.database = database
        self.storage = storage
        self.upstream = upstream
        self.inventory = inventory
        self.actor = actor
        self.clock = clock

    def run(self, user_id: uuid.UUID, *, request_id: uuid.UUID | None = None) -> ErasureRun:
        run_id = self._start(user_id, request_id)
        for step in STEPS:
            with self.database.transaction() as session:
                run = session.get_one(ErasureRun, run_id, with_for_update=True)
                if step in run.steps_done:
                    continue
                getattr(self, f"_step_{step}")(session, run)
                run.steps_done = [*run.steps_done, step]
        return self._finish(run_id)

    def _start(self, user_id: uuid.UUID, request_id: uuid.UUID | None) -> uuid.UUID:
        with self.database.transaction() as session:
            open_run = session.scalar(
                select(ErasureRun).where(
                    ErasureRun.user_id == user_id, ErasureRun.completed_at.is_(None)
                )
            )
            if open_run is not None:
                return open_run.id
            if session.get(User, user_id) is None:
                raise NotFound(f"no user {user_id}", hint="see `liveai users list`")
            run = ErasureRun(
                user_id=user_id,
                request_id=request_id,
                steps_done=[],
                report={"skipped": [], "manual": []},
                started_at=self.clock.now(),
            )
            session.add(run)
            session.flush()
            audit.record(
                session,
                "erasure.started",
                user_id=user_id,
                actor=self.actor,
                clock=self.clock,
                details={"run_id": str(run.id)},
            )
            return run.id

    def _note(self, run: ErasureRun, key: str, value: Any) -> None:
        run.report = {**run.report, key: value}

    def _step_restrict(self, session: Session, run: ErasureRun) -> None:
        user = session.get_one(User, run.user_id)
        user.status = UserStatus.DELETION_PENDING
        user.updated_at = self.clock.now()

    def _step_apple(self, session: Session, run: ErasureRun) -> None:
        if self.upstream.revoke_apple is None:
            self._skip(run, "apple", APPLE_BY_HAND)
            return
        self._note(run, "apple_tokens_revoked", self.upstream.revoke_apple(session, run.user_id))

    def _step_logto(self, session: Session, run: ErasureRun) -> None:
        subjects = session.scalars(
            select(Identity.subject).where(
                Identity.user_id == run.user_id, Identity.issuer == self.upstream.logto_issuer
            )
        ).all()
        if self.upstream.delete_logto_user is None:
            if subjects or self.upstream.logto_issuer is None:
                self._skip(run, "logto", LOGTO_BY_HAND)
            return
        deleted = sum(self.upstream.delete_logto_user(sub) for sub in subjects)
        self._note(run, "logto_users_deleted", deleted)

    def _skip(self, run: ErasureRun, step: str, what_to_do: str) -> None:
        self._note(run, "skipped", [*run.report.get("skipped", []), step])
        self._note(run, "manual", [*run.report.get("manual", []), what_to_do])

    def _step_recipients(self, session: Session, run: ErasureRun) -> None:
        self._note(run, "recipients", _recipients(session, run.user_id))

    def _step_storage(self, session: Session, run: ErasureRun) -> None:
        keys = [o.key for o in self.storage.list(user_prefix(run.user_id))]
        result = self.storage.delete_many(keys)
        if result.failed:
            _, reason = result.failed[0]
            raise Conflict(
                f"storage refused to delete {len(result.failed)} objects (first: {reason})",
                hint="fix storage access and run the erasure again",
            )
        self._note(run, "objects_deleted", run.report.get("objects_deleted", 0) + len(keys))

    def _step_rows(self, session: Session, run: ErasureRun) -> None:
        tables = _user_tables(self.inventory)
        kept = [t for t, action in tables if action != "delete"]
        counts: dict[str, int] = {}
        for table, action in tables:
            if action == "delete":
                self._detach(session, table, kept, run.user_id)
                counts[table.name] = _rowcount(
                    session.execute(delete(table).where(table.c.user_id == run.user_id))
                )
        self._note(run, "rows_deleted", counts)

    def _detach(
        self, session: Session, target: Table, kept: Sequence[Table], user_id: uuid.UUID
    ) -> None:
        """Null the references kept rows hold to rows about to be deleted."""
        for table in kept:
            for fk in table.foreign_keys:
                if fk.column.table is target and fk.parent.nullable:
                    session.execute(
                        update(table)
                        .where(table.c.user_id == user_id)
                        .values({fk.parent.name: None})
                    )

    def _step_tombstone(self, session: Session, run: ErasureRun) -> None:
        now = self.clock.now()
        pseudonym = run.pseudonym_id or uuid.uuid4()
        if session.get(User, pseudonym) is None:
            session.add(
                User(id=pseudonym, status=UserStatus.ERASED, created_at=now, updated_at=now)
            )
            session.flush()
        run.pseudonym_id = pseudonym
        moved: dict[str, int] = {}
        for table, action in _user_tables(self.inventory):
            if action != "delete" and table.name not in KEEP_BARE_ID:
                moved[table.name] = _rowcount(
                    session.execute(
                        update(table)
                        .where(table.c.user_id == run.user_id)
                        .values(user_id=pseudonym)
                    )
                )
                _respell_id(session, table, run.user_id, pseudonym)
        session.execute(  # staff notes on how identity was checked may name the person
            update(PrivacyRequest)
            .where(PrivacyRequest.user_id == pseudonym)
            .values(verification_note=None)
        )
        consents.pseudonymise(session, pseudonym)  # the proof stays, staff notes go
        session.execute(delete(User).where(User.id == run.user_id))
        self._note(run, "rows_pseudonymised", moved)

    def _step_verify(self, session: Session, run: ErasureRun) -> None:
        leftovers = verify_erased(session, self.storage, run.user_id)
        if leftovers:
            raise Conflict(
                f"erasure of {run.user_id} left data behind: {', '.join(leftovers)}",
                hint="run the erasure again; report a bug if this persists",
            )

    def _finish(self, run_id: uuid.UUID) -> ErasureRun:
        with self.database.transaction() as session:
            run = session.get_one(ErasureRun, run_id)
            if run.completed_at is None:
                run.completed_at = self.clock.now()
                run.pseudonym_id = None
                audit.record(
                    session,
                    "erasure.completed",
                    user_id=run.user_id,
                    actor=self.actor,
                    clock=self.clock,
                    details={"run_id": str(run.id), "steps": len(STEPS)},
                )
            return run


def _respell_id(session: Session, table: Table, user_id: uuid.UUID, pseudonym: uuid.UUID) -> None:
    """Text columns that spell the user's id out (an account code, an idempotency key)
    get the pseudonym instead, so the kept rows no longer name the user."""
    old, new = str(user_id), str(pseudonym)
    for column in _text_columns(table):
        session.execute(
            update(table)
            .where(table.c.user_id == pseudonym, column.contains(old, autoescape=True))
            .values({column.name: func.replace(column, old, new)})
        )


def _text_columns(table: Table) -> list[Column[Any]]:
    return [
        column
        for column in table.columns
        if isinstance(column.type, String) and not isinstance(column.type, Enum)
    ]


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def verify_erased(session: Session, storage: Storage, user_id: uuid.UUID) -> list[str]:
    """Every place something linked to the user remains: tables, then storage."""
    found = [
        f"{table.name} ({count} rows)"
        for table in Base.metadata.sorted_tables
        if table.name not in KEEP_BARE_ID
        and table.name != "users"
        and "user_id" in table.columns
        and (count := _count(session, table, user_id))
    ]
    if session.get(User, user_id) is not None:
        found.append("users (1 row)")
    found.extend(_id_spelled_out(session, user_id))
    if any(True for _ in storage.list(user_prefix(user_id))):
        found.append(f"storage under {user_prefix(user_id)}")
    return found


def _id_spelled_out(session: Session, user_id: uuid.UUID) -> list[str]:
    """Text columns that still contain the user's id (an account code, a key, a reference)."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in KEEP_BARE_ID:
            continue
        for column in _text_columns(table):
            count = session.scalar(
                select(func.count())
                .select_from(table)
                .where(column.contains(str(user_id), autoescape=True))
            )
            if count:
                found.append(f"{table.name}.{column.name} ({count} rows)")
    return found


def run_to_dict(run: ErasureRun) -> dict[str, Any]:
    return {
        "run_id": str(run.id),
        "user_id": str(run.user_id),
        "request_id": str(run.request_id) if run.request_id else None,
        "steps_done": list(run.steps_done),
        "started_at": run.started_at.isoformat(),
        "completed_at": run.completed_at.isoformat() if run.completed_at else None,
        **run.report,
    }
