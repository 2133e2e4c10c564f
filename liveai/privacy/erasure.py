"""Account erasure across every store, resumable step by step.

Steps run in order and each is recorded in ``erasure_runs`` in the same transaction as
its database effects; the remote ones (storage, Apple, Logto) are idempotent, so a crash
anywhere is finished by running the same erasure again. One run per user is open at a
time: a second erasure of the same user joins it.

Starting the run restricts the account (no new generation) and captures the user's
identifiers, before anything that can fail for outside reasons (storage, Apple, Logto).
Then pending holds are voided and unfinished tasks stopped (`erasure_tasks`), remote
accounts closed, storage purged of every version, and the rows handled as the data
inventory says: ``delete`` removes them; ``pseudonymise`` and ``retain`` move them to a
fresh tombstone user whose id is linked to nothing, with free text dropped and identifiers
hashed out of the rest (`erasure_text`). The user's audit events are redacted, so no event
links the old id to the pseudonym. The last step scans every table, every text column,
the audit details and every storage version for the identifiers; the run then forgets the
pseudonym, the identifiers and the request it served, keeping only the bare old id.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as day_start
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Result,
    Table,
    Text,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from liveai import audit, ledger
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.errors import Conflict, LiveAIError, NotFound
from liveai.models import (
    AuditEvent,
    Base,
    DataTransfer,
    ErasureRun,
    Identity,
    PrivacyRequest,
    Task,
    Transfer,
    TransferPhase,
    User,
    UserStatus,
)
from liveai.privacy import consents, erasure_tasks, erasure_text, steps
from liveai.privacy.inventory import DEFAULT_INVENTORY, user_linked_tables
from liveai.privacy.inventory_types import Inventory
from liveai.privacy.requests import OPEN_STATES
from liveai.storage import Storage, user_prefix
from liveai.users import get_user

KEEP_BARE_ID = frozenset({"audit_events", "erasure_runs"})
STEPS = (
    "restrict",
    "holds",
    "tasks",
    "apple",
    "logto",
    "recipients",
    "storage",
    "rows",
    "tombstone",
    "text",
    "audit",
    "verify",
)


@dataclass(frozen=True)
class Upstream:
    """The remote accounts to close; None where the service is not configured here."""

    Revoker = Callable[[Session, uuid.UUID], int]
    Deleter = Callable[[str], bool]
    Canceller = Callable[[str, str], bool]

    revoke_apple: Revoker | None = None
    delete_logto_user: Deleter | None = None
    logto_issuer: str | None = None
    cancel_task: Canceller | None = None  # (provider, provider's task id)


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
    plan.objects = sum(1 for _ in storage.versions(user_prefix(user_id)))
    plan.recipients = _recipients(session, user_id)
    plan.manual = _manual_steps(upstream)
    return plan


@dataclass(frozen=True)
class ErasureTarget:
    """Whom an erasure is for; `resuming` once only an unfinished run remembers the user."""

    user_id: uuid.UUID
    resuming: bool = False


def resume_target(session: Session, ref: str) -> ErasureTarget:
    """The user `ref` names or, once the account row is gone, the bare id of a user whose
    erasure run is unfinished: running the erasure again finishes it."""
    try:
        return ErasureTarget(get_user(session, ref).id)
    except NotFound:
        try:
            user_id = uuid.UUID(ref)
        except ValueError:
            raise NotFound(f"no user {ref!r}", hint="see `liveai users list`") from None
        if _open_run(session, user_id) is None:
            raise
        return ErasureTarget(user_id, resuming=True)


def _open_run(session: Session, user_id: uuid.UUID) -> ErasureRun | None:
    return session.scalar(
        select(ErasureRun).where(ErasureRun.user_id == user_id, ErasureRun.completed_at.is_(None))
    )


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
        task_wait_s: float = 150.0,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.database = database
        self.storage = storage
        self.upstream = upstream
        self.inventory = inventory
        self.actor = actor
        self.clock = clock
        self.task_wait_s = task_wait_s  # a worker's lease (120 s by default) and some
        self.sleep = sleep

    def run(self, user_id: uuid.UUID, *, request_id: uuid.UUID | None = None) -> ErasureRun:
        run_id = self._start(user_id, request_id)
        for step in STEPS:
            outside = getattr(self, f"_before_{step}", None)
            if outside is not None and step not in self._done(run_id):
                outside(run_id)  # waits, so outside any transaction
            with self.database.transaction() as session:
                run = session.get_one(ErasureRun, run_id, with_for_update=True)
                if step in run.steps_done:
                    continue
                getattr(self, f"_step_{step}")(session, run)
                run.steps_done = [*run.steps_done, step]
        return self._finish(run_id)

    def _done(self, run_id: uuid.UUID) -> list[str]:
        with self.database.transaction() as session:
            return list(session.get_one(ErasureRun, run_id).steps_done)

    def _start(self, user_id: uuid.UUID, request_id: uuid.UUID | None) -> uuid.UUID:
        """Join the user's open run, or open one: restricted account, identifiers captured,
        unfinished tasks asked to cancel, all in one transaction."""
        with self.database.transaction() as session:
            user = session.get(User, user_id, with_for_update=True)  # one opener at a time
            open_run = _open_run(session, user_id)
            if open_run is not None:
                return open_run.id
            if user is None:
                return self._finished_run(session, user_id)
            run = ErasureRun(
                user_id=user_id,
                request_id=request_id,
                identifiers=erasure_text.capture(session, user_id),
                steps_done=[],
                report={"skipped": [], "manual": []},
                started_at=self.clock.now(),
            )
            session.add(run)
            session.flush()
            self._step_restrict(session, run)
            run.steps_done = ["restrict"]
            audit.record(
                session,
                "erasure.started",
                user_id=user_id,
                actor=self.actor,
                clock=self.clock,
                details={"run_id": str(run.id)},
            )
            return run.id

    def _finished_run(self, session: Session, user_id: uuid.UUID) -> uuid.UUID:
        """A run that erased the user already (a concurrent erasure finished first)."""
        done = session.scalar(
            select(ErasureRun.id)
            .where(ErasureRun.user_id == user_id, ErasureRun.completed_at.is_not(None))
            .order_by(ErasureRun.completed_at.desc())
            .limit(1)
        )
        if done is None:
            raise NotFound(f"no user {user_id}", hint="see `liveai users list`")
        return done

    def _note(self, run: ErasureRun, key: str, value: Any) -> None:
        run.report = {**run.report, key: value}

    def _step_restrict(self, session: Session, run: ErasureRun) -> None:
        user = session.get_one(User, run.user_id)
        user.status = UserStatus.DELETION_PENDING
        user.updated_at = self.clock.now()
        erasure_tasks.ask_to_cancel(session, run.user_id, self.clock.now())

    def _step_holds(self, session: Session, run: ErasureRun) -> None:
        """Void the pending holds first, so none stays on the pseudonymised account."""
        ledger.expire_holds(session, clock=self.clock)  # those past their timeout: expired
        holds = session.scalars(
            select(Transfer).where(
                Transfer.user_id == run.user_id,
                Transfer.phase == TransferPhase.PENDING,
                Transfer.state == ledger.HoldState.PENDING,
            )
        ).all()
        voided = 0
        for hold in holds:
            try:
                ledger.void_hold(
                    session,
                    hold.key,
                    key=f"erasure:{run.id}:void:{hold.id}",
                    reason="account erased",
                    clock=self.clock,
                )
                voided += 1
            except LiveAIError:
                continue  # resolved meanwhile (posted, voided or expired): nothing held
        self._note(run, "holds_voided", voided)

    def _before_tasks(self, run_id: uuid.UUID) -> None:
        with self.database.transaction() as session:
            user_id = session.get_one(ErasureRun, run_id).user_id
        stopped = erasure_tasks.stop_tasks(
            self.database,
            user_id,
            clock=self.clock,
            wait_s=self.task_wait_s,
            cancel_upstream=self.upstream.cancel_task,
            sleep=self.sleep,
        )
        with self.database.transaction() as session:
            run = session.get_one(ErasureRun, run_id, with_for_update=True)
            self._note(run, "tasks_cancelled", run.report.get("tasks_cancelled", 0) + stopped)

    def _step_tasks(self, session: Session, run: ErasureRun) -> None:
        """Every task is finished now (`_before_tasks`); a runner cannot start one anew."""
        left = session.scalar(
            select(func.count()).where(
                Task.user_id == run.user_id,
                Task.state.in_(erasure_tasks.ACTIVE),
            )
        )
        if left:
            raise Conflict(
                f"{left} tasks of the erased user are still running",
                hint="run the erasure again",
            )

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
        kept = self.storage.protection()
        if kept.blocks_erasure:
            raise Conflict(
                f"storage cannot be erased: {kept.blocks_erasure}",
                hint="move the user's objects to a bucket without a COMPLIANCE lock, or wait "
                "for the retention to end, then run the erasure again",
            )
        result = self.storage.purge(user_prefix(run.user_id))
        if result.failed:
            _, reason = result.failed[0]
            raise Conflict(
                f"storage refused to delete {len(result.failed)} objects (first: {reason})",
                hint="fix storage access and run the erasure again",
            )
        done = run.report.get("objects_deleted", 0) + len(result.deleted)
        self._note(run, "objects_deleted", done)

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
        now = _day_of(self.clock.now())  # not the minute of the erasure, which it would match
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
        consents.pseudonymise(session, pseudonym)  # the proof stays, staff notes go
        session.execute(delete(User).where(User.id == run.user_id))
        self._note(run, "rows_pseudonymised", moved)

    def _kept_tables(self) -> list[Table]:
        return [
            table
            for table, action in _user_tables(self.inventory)
            if action != "delete" and table.name not in KEEP_BARE_ID
        ]

    def _step_text(self, session: Session, run: ErasureRun) -> None:
        """Free text in the kept rows goes; identifiers in the rest become hashes."""
        assert run.pseudonym_id is not None
        values = erasure_text.searched(run.identifiers, run.user_id)
        changed = erasure_text.rewrite_kept(session, self._kept_tables(), run.pseudonym_id, values)
        self._note(run, "text_rewritten", sum(changed.values()))

    def _step_audit(self, session: Session, run: ErasureRun) -> None:
        """Redact the user's events (and any whose details name them): no event may link
        the old id to the pseudonym through the ids of rows that moved."""
        values = erasure_text.searched(run.identifiers, run.user_id)
        details = sql_cast(AuditEvent.details, Text)
        ids = session.scalars(
            select(AuditEvent.id).where(
                or_(
                    AuditEvent.user_id == run.user_id,
                    *(details.icontains(value, autoescape=True) for value in values),
                )
            )
        ).all()
        done = run.report.get("audit_events_redacted", 0) + audit.redact(session, ids)
        self._note(run, "audit_events_redacted", done)

    def _step_verify(self, session: Session, run: ErasureRun) -> None:
        leftovers = verify_erased(session, self.storage, run.user_id, run.identifiers)
        if leftovers:
            raise Conflict(
                f"erasure of {run.user_id} left data behind: {', '.join(leftovers)}",
                hint="run the erasure again; report a bug if this persists",
            )

    def _settle_request(self, session: Session, run: ErasureRun) -> None:
        """Settle the request the run carries out in the run's last transaction, so no
        crash leaves the two apart (the run forgets the request right after)."""
        request = None if run.request_id is None else session.get(PrivacyRequest, run.request_id)
        if request is None or request.state not in OPEN_STATES:
            return
        outcome = steps.settle_after_erasure(
            session, request, run_to_dict(run), actor=self.actor, clock=self.clock
        )
        self._note(run, "request_state", outcome)

    def _finish(self, run_id: uuid.UUID) -> ErasureRun:
        with self.database.transaction() as session:
            run = session.get_one(ErasureRun, run_id)
            if run.completed_at is None:
                self._settle_request(session, run)
                run.completed_at = self.clock.now()
                run.pseudonym_id = None
                run.identifiers = None
                run.request_id = None  # the request now belongs to the pseudonym
                audit.record(  # no user id: the run keeps the bare old id, nothing else
                    session,
                    "erasure.completed",
                    actor=self.actor,
                    clock=self.clock,
                    details={"run_id": str(run.id), "steps": len(STEPS)},
                )
        _clear_freed_pages(self.database)
        return run


def _day_of(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), day_start(0), tzinfo=moment.tzinfo)


def _clear_freed_pages(database: Database) -> None:
    """SQLite zeroes what it frees (``secure_delete``, set on every connection); moving the
    write-ahead log into the file and emptying it drops the old page images too."""
    if database.dialect != "sqlite":
        return
    raw = database.engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _respell_id(session: Session, table: Table, user_id: uuid.UUID, pseudonym: uuid.UUID) -> None:
    """Text columns that spell the user's id out (an account code, an idempotency key)
    get the pseudonym instead, so the kept rows no longer name the user."""
    old, new = str(user_id), str(pseudonym)
    for column in erasure_text.text_columns(table):
        session.execute(
            update(table)
            .where(table.c.user_id == pseudonym, column.contains(old, autoescape=True))
            .values({column.name: func.replace(column, old, new)})
        )


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def verify_erased(
    session: Session,
    storage: Storage,
    user_id: uuid.UUID,
    identifiers: dict[str, list[str]] | None = None,
) -> list[str]:
    """Every place something of the user remains: rows linked to them, their audit events,
    any text or JSON column holding one of their identifiers (the id at least), and any
    stored version or partial write under their prefix."""
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
    events = session.scalar(select(func.count()).where(AuditEvent.user_id == user_id))
    if events:
        found.append(f"audit_events naming the user ({events} rows)")
    found.extend(erasure_text.search(session, erasure_text.searched(identifiers, user_id)))
    if any(True for _ in storage.versions(user_prefix(user_id))):
        found.append(f"storage under {user_prefix(user_id)}")
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
