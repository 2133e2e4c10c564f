"""Submitting a transfer: idempotency by key, balance changes, the transfer row."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, literal_column, select
from sqlalchemy.orm import Session

from liveai.errors import Conflict, InsufficientCredits, InvalidInput
from liveai.ledger import accounts, pg
from liveai.ledger.accounts import SystemAccount
from liveai.models import HoldState, Transfer, TransferKind, TransferPhase

MAX_KEY = 200
MAX_REFERENCE = 200
MAX_REASON = 500

# `OPEN_HOLD` as a query condition, its value inline so that its partial index applies.
OPEN_HOLD_CONDITION: ColumnElement[bool] = and_(
    Transfer.state == literal_column(f"'{HoldState.PENDING.value}'"),
    Transfer.timeout_seconds.is_not(None),
)


@dataclass(frozen=True)
class Spec:
    """What a caller asked for: a replay with the same key must ask for the same."""

    kind: TransferKind
    phase: TransferPhase
    user_id: uuid.UUID
    direction: str  # "debit" takes credits from the user, "credit" gives them
    amount: int
    reference: str | None
    reason: str | None
    pending_id: uuid.UUID | None = None
    timeout_seconds: int | None = None


# No single movement is larger: balances and their sums stay exact 64-bit integers on
# both databases (SQLite turns an integer past 2**63 into a float).
MAX_AMOUNT = 10**12


def check_amount(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput(f"an amount must be a positive whole number of credits, got {amount!r}")
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            f"an amount of {amount} credits is too large", hint=f"at most {MAX_AMOUNT:,} at once"
        )
    return amount


def check_text(value: str | None, what: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"a {what} is required")
        return None
    cleaned = value.strip()
    if len(cleaned) > limit:
        raise InvalidInput(f"a {what} must be at most {limit} characters, got {len(cleaned)}")
    return cleaned


def check_key(key: str) -> str:
    cleaned = check_text(key, "idempotency key", MAX_KEY, required=True)
    assert cleaned is not None
    return cleaned


def find(session: Session, key: str) -> Transfer | None:
    return session.scalar(select(Transfer).where(Transfer.key == key))


def recorded_spec(session: Session, transfer: Transfer) -> Spec:
    user_account = accounts.user_account_id(session, transfer.user_id)
    return Spec(
        kind=transfer.kind,
        phase=transfer.phase,
        user_id=transfer.user_id,
        direction="debit" if transfer.debit_account_id == user_account else "credit",
        amount=transfer.amount + transfer.shortfall,
        reference=transfer.reference,
        reason=transfer.reason,
        pending_id=transfer.pending_id,
        timeout_seconds=transfer.timeout_seconds,
    )


def check_replay(session: Session, existing: Transfer, spec: Spec) -> Transfer:
    """The recorded transfer if it is the same request; Conflict naming the first difference."""
    recorded = recorded_spec(session, existing)
    for field in fields(Spec):
        before, after = getattr(recorded, field.name), getattr(spec, field.name)
        if before != after:
            raise Conflict(
                f"key {existing.key!r} was already used for a different transfer: "
                f"{field.name} differs (recorded {_shown(before)}, requested {_shown(after)})",
                hint="a new transfer needs a new key; a retry must repeat the same request",
            )
    return existing


def _shown(value: Any) -> str:
    return str(value.value) if hasattr(value, "value") else repr(value)


def deltas(spec: Spec, amount: int) -> tuple[dict[str, int], dict[str, int]]:
    """Balance changes for (the user's account, the system account) of a new transfer."""
    side = "pending" if spec.phase is TransferPhase.PENDING else "posted"
    if spec.direction == "debit":
        return {f"debits_{side}": amount}, {f"credits_{side}": amount}
    return {f"credits_{side}": amount}, {f"debits_{side}": amount}


def submit(
    session: Session,
    spec: Spec,
    *,
    key: str,
    system: SystemAccount,
    actor: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[Transfer, bool]:
    """Record a new transfer and move its balances, or return the same one recorded earlier.

    The flag says whether this call recorded it (False for a replay). New transfers are
    the common case, so the key is looked up only when a write is refused: a replay's
    balance changes are undone in the same transaction, leaving nothing changed.
    """
    if pg.enabled(session):
        done = _submit_pg(
            session, spec, key=key, system=system, actor=actor, now=now, expires_at=expires_at
        )
        if done is not None:
            return done
    user_deltas, system_deltas = deltas(spec, spec.amount)
    need = spec.amount if spec.direction == "debit" else 0
    user_account = accounts.change_user(session, spec.user_id, user_deltas, now, need=need)
    if user_account is None:
        existing = find(session, key)
        if existing is not None:
            return check_replay(session, existing, spec), False
        user_account = _after_refusal(session, spec.user_id, user_deltas, now, need=need)
    system_account = accounts.change_system(
        session, system, accounts.shard_of(spec.user_id), system_deltas, now
    )
    debit, credit = (user_account, system_account)
    if spec.direction == "credit":
        debit, credit = credit, debit
    values = row_for(spec, key=key, actor=actor, now=now, debit=debit, credit=credit)
    values["expires_at"] = expires_at
    if spec.phase is TransferPhase.PENDING:
        values["state"] = HoldState.PENDING
    transfer = insert(session, values)
    if transfer is not None:
        return transfer, True
    undo(session, {user_account: user_deltas, system_account: system_deltas})
    return replay(session, key, spec), False


def _submit_pg(
    session: Session,
    spec: Spec,
    *,
    key: str,
    system: SystemAccount,
    actor: str,
    now: datetime,
    expires_at: datetime | None,
) -> tuple[Transfer, bool] | None:
    """The common case in one statement; None, having written nothing, for anything else
    (no account or shard yet, the guard refused, a replay)."""
    sql, args = pg_submission(
        spec, key=key, system=system, actor=actor, now=now, expires_at=expires_at
    )
    user_account, system_account, inserted = pg.run(session, sql, args)
    if user_account is None:
        return None
    user_deltas, system_deltas = deltas(spec, spec.amount)
    if system_account is None:  # the shard's first use: create it on the general path
        undo(session, {user_account: user_deltas})
        return None
    if inserted is None:  # the key is taken: put the balances back, it is a replay
        undo(session, {user_account: user_deltas, system_account: system_deltas})
        return replay(session, key, spec), False
    return pg.attach(session, submitted(spec, args, user_account, system_account)), True


def pg_submission(
    spec: Spec,
    *,
    key: str,
    system: SystemAccount,
    actor: str,
    now: datetime,
    expires_at: datetime | None,
    autocommit: bool = False,
) -> tuple[str, dict[str, Any]]:
    """A new transfer's one statement on PostgreSQL (see `pg.submit_sql`), and its
    arguments: the transfer's row, account ids still unknown, and the system shard."""
    values = row_for(spec, key=key, actor=actor, now=pg.now_param(now), debit=0, credit=0)
    if spec.phase is TransferPhase.PENDING:
        values.update(state=HoldState.PENDING, expires_at=expires_at)
    sql = pg.submit_sql(spec.kind, spec.phase, spec.direction, system, autocommit)
    return sql, {**values, "shard": accounts.shard_of(spec.user_id)}


def submitted(
    spec: Spec, args: Mapping[str, Any], user_account: int, system_account: int
) -> dict[str, Any]:
    """The row `pg_submission` inserted, with the accounts it moved."""
    debit, credit = (user_account, system_account)
    if spec.direction == "credit":
        debit, credit = credit, debit
    values = {name: value for name, value in args.items() if name != "shard"}
    values.update(debit_account_id=debit, credit_account_id=credit)
    return values


def _after_refusal(
    session: Session, user_id: uuid.UUID, changes: Mapping[str, int], now: datetime, *, need: int
) -> int:
    """The guard refused: release the user's overdue holds and try once more, or fail."""
    account = None
    if expire_overdue(session, now, user_id=user_id):
        account = accounts.change_user(session, user_id, changes, now, need=need)
    if account is None:
        raise InsufficientCredits(
            f"user {user_id} has fewer than {need} credits available",
            hint=f"see `liveai credits balance {user_id}`",
        )
    return account


def undo(session: Session, changes: Mapping[int, Mapping[str, int]]) -> None:
    """Reverse balance changes made earlier in this transaction (its rows are locked)."""
    for account_id in sorted(changes):
        accounts.change_by_id(session, account_id, accounts.invert(changes[account_id]))


def replay(session: Session, key: str, spec: Spec) -> Transfer:
    existing = find(session, key)
    assert existing is not None, "the key was taken, so its transfer exists"
    return check_replay(session, existing, spec)


def row_for(
    spec: Spec, *, key: str, actor: str, now: datetime, debit: int, credit: int
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "key": key,
        "kind": spec.kind,
        "phase": spec.phase,
        "user_id": spec.user_id,
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": spec.amount,
        "shortfall": 0,
        "pending_id": spec.pending_id,
        "state": None,
        "timeout_seconds": spec.timeout_seconds,
        "expires_at": None,
        "reference": spec.reference,
        "reason": spec.reason,
        "actor": actor,
        "created_at": now,
    }


def insert(session: Session, values: dict[str, Any]) -> Transfer | None:
    """Insert a transfer row; None if its key is already taken (by a concurrent replay)."""
    stmt = accounts.insert_ignoring_conflict(session, Transfer, values)
    return session.scalars(stmt.returning(Transfer)).first()


def expire_query(now: datetime, user_id: uuid.UUID | None = None) -> Select[Transfer]:
    """The holds whose timeout passed (of one user, or all), locked, skipping those taken."""
    query = (
        select(Transfer)
        .where(OPEN_HOLD_CONDITION, Transfer.expires_at <= now)
        .order_by(Transfer.id)
        .with_for_update(skip_locked=True)
    )
    return query if user_id is None else query.where(Transfer.user_id == user_id)


def expire_overdue(session: Session, now: datetime, *, user_id: uuid.UUID | None = None) -> int:
    """Expire holds whose timeout passed, releasing their credits; the count expired."""
    holds = session.scalars(expire_query(now, user_id)).all()
    if not holds:
        return 0
    changes: dict[int, dict[str, int]] = {}
    for hold in holds:
        hold.state = HoldState.EXPIRED
        _add(changes, hold.debit_account_id, "debits_pending", -hold.amount)
        _add(changes, hold.credit_account_id, "credits_pending", -hold.amount)
        session.add(resolution(hold, TransferPhase.EXPIRE, key=f"expire:{hold.id}", now=now))
    session.flush()
    # user accounts before system shards: guarded (user) rows have the lower lock rank
    user_rows = {h.debit_account_id for h in holds}
    for account_id in sorted(changes, key=lambda a: (a not in user_rows, a)):
        accounts.change_by_id(session, account_id, changes[account_id])
    return len(holds)


def _add(changes: dict[int, dict[str, int]], account_id: int, name: str, delta: int) -> None:
    row = changes.setdefault(account_id, {})
    row[name] = row.get(name, 0) + delta


def resolution(
    hold: Transfer,
    phase: TransferPhase,
    *,
    key: str,
    now: datetime,
    amount: int | None = None,
    reason: str | None = None,
    actor: str = "system",
) -> Transfer:
    """The transfer that posts, voids or expires a hold."""
    return Transfer(
        id=uuid.uuid4(),
        key=key,
        kind=hold.kind,
        phase=phase,
        user_id=hold.user_id,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount=hold.amount if amount is None else amount,
        shortfall=0,
        pending_id=hold.id,
        reference=hold.reference,
        reason=reason if reason is not None else hold.reason,
        actor=actor,
        created_at=now,
    )
