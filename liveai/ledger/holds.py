"""Holds (pending transfers): reserve credits, then post them (fully or for less), void
them, or let them expire. A hold resolves at most once; expiry is exact."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import Conflict, InvalidInput, NotFound
from liveai.ledger import accounts, core, pg
from liveai.ledger.accounts import SystemAccount
from liveai.ledger.core import MAX_REASON, MAX_REFERENCE, Spec, check_amount, check_text
from liveai.models import HoldState, Transfer, TransferKind, TransferPhase

MAX_TIMEOUT = timedelta(days=30)


def hold(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    reference: str,
    timeout: timedelta,
    reason: str,
    clock: Clock = SYSTEM_CLOCK,
) -> Transfer:
    """Reserve credits for a generation until `timeout` passes; InsufficientCredits beyond
    the available balance."""
    spec = hold_spec(user_id, amount, reference=reference, timeout=timeout, reason=reason)
    now = clock.now()
    transfer, _ = core.submit(
        session,
        spec,
        key=core.check_key(key),
        system=SystemAccount.CONSUMED,
        actor="system",
        now=now,
        expires_at=expires(spec, now),
    )
    return transfer


def hold_spec(
    user_id: uuid.UUID, amount: int, *, reference: str, timeout: timedelta, reason: str
) -> Spec:
    """A hold's request, checked."""
    seconds = int(timeout.total_seconds())
    if seconds < 1 or timeout > MAX_TIMEOUT:
        raise InvalidInput(f"a hold's timeout must be 1 s to 30 days, got {timeout}")
    return Spec(
        kind=TransferKind.CONSUME,
        phase=TransferPhase.PENDING,
        user_id=user_id,
        direction="debit",
        amount=check_amount(amount),
        reference=check_text(reference, "reference", MAX_REFERENCE),
        reason=check_text(reason, "reason", MAX_REASON, required=True),
        timeout_seconds=seconds,
    )


def expires(spec: Spec, now: datetime) -> datetime:
    """When a hold placed at ``now`` times out."""
    assert spec.timeout_seconds is not None
    return now + timedelta(seconds=spec.timeout_seconds)


def get_hold(session: Session, pending_key: str) -> Transfer:
    found = core.find(session, pending_key)
    if found is None or found.phase is not TransferPhase.PENDING:
        raise NotFound(f"no hold {pending_key!r}", hint="see `liveai credits holds`")
    return found


def post_hold(
    session: Session,
    pending_key: str,
    *,
    key: str,
    amount: int | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Transfer:
    """Post a hold for its full amount or less; the rest returns to the user."""
    wanted = None if amount is None else check_amount(amount)
    return _resolve(
        session, pending_key, TransferPhase.POST, key=key, amount=wanted, reason=None, clock=clock
    )


def void_hold(
    session: Session, pending_key: str, *, key: str, reason: str, clock: Clock = SYSTEM_CLOCK
) -> Transfer:
    """Cancel a hold: its credits are available again."""
    cleaned = check_text(reason, "reason", MAX_REASON, required=True)
    return _resolve(
        session, pending_key, TransferPhase.VOID, key=key, amount=None, reason=cleaned, clock=clock
    )


def _spec(held: Transfer, phase: TransferPhase, amount: int | None, reason: str | None) -> Spec:
    return Spec(
        kind=held.kind,
        phase=phase,
        user_id=held.user_id,
        direction="debit",
        amount=held.amount if amount is None else amount,
        reference=held.reference,
        reason=held.reason if phase is TransferPhase.POST else reason,
        pending_id=held.id,
    )


def _resolve(
    session: Session,
    pending_key: str,
    phase: TransferPhase,
    *,
    key: str,
    amount: int | None,
    reason: str | None,
    clock: Clock,
) -> Transfer:
    """Claim the hold with one guarded UPDATE (pending, not expired, enough held), move
    the balances, record the resolving transfer. A refused claim is explained, or is a
    replay of this same request."""
    key = core.check_key(key)
    now = clock.now()
    if pg.enabled(session):
        return _resolve_pg(
            session, pending_key, phase, key=key, amount=amount, reason=reason, now=now
        )
    held = _claim(session, pending_key, phase, now, amount)
    if held is None:
        return _refused(session, pending_key, phase, key=key, amount=amount, reason=reason, now=now)
    spec = _spec(held, phase, amount, reason)
    changes = _releasing(spec, held.debit_account_id, held.credit_account_id, held.amount)
    for account_id, change in changes.items():  # the user's (debit) row first
        accounts.change_by_id(session, account_id, change)
    values = core.row_for(
        spec, key=key, actor="system", now=now,
        debit=held.debit_account_id, credit=held.credit_account_id,
    )  # fmt: skip
    transfer = core.insert(session, values)
    if transfer is not None:
        return transfer
    return _put_back(session, changes, spec, key)


def _releasing(spec: Spec, debit: int, credit: int, held: int) -> dict[int, dict[str, int]]:
    """A hold's resolution on its two accounts: the held credits released on both sides,
    what is posted (nothing for a void) moved."""
    posted = spec.amount if spec.phase is TransferPhase.POST else 0
    return {
        debit: {"debits_pending": -held, "debits_posted": posted},
        credit: {"credits_pending": -held, "credits_posted": posted},
    }


def _put_back(
    session: Session, changes: Mapping[int, Mapping[str, int]], spec: Spec, key: str
) -> Transfer:
    """The resolving transfer's key belongs to another transfer: undo the resolution, so
    the hold is pending again, and answer as a replay of that key."""
    core.undo(session, changes)
    session.execute(
        update(Transfer).where(Transfer.id == spec.pending_id).values(state=HoldState.PENDING)
    )
    return core.replay(session, key, spec)


def _resolve_pg(
    session: Session,
    pending_key: str,
    phase: TransferPhase,
    *,
    key: str,
    amount: int | None,
    reason: str | None,
    now: datetime,
) -> Transfer:
    """`_resolve` in one statement: the claim, both balances and the resolving transfer."""
    sql, args = pg_resolution(pending_key, phase, key=key, amount=amount, reason=reason, now=now)
    row = pg.run(session, sql, args)
    if row is None:  # the claim was refused: nothing written
        return _refused(session, pending_key, phase, key=key, amount=amount, reason=reason, now=now)
    spec, values, inserted = resolved(row, phase, args)
    if not inserted:
        held = row[5]  # the hold's whole amount, released whatever was posted
        debit, credit = values["debit_account_id"], values["credit_account_id"]
        return _put_back(session, _releasing(spec, debit, credit, held), spec, key)
    assert spec.pending_id is not None
    pg.mark_resolved(session, spec.pending_id, _resolved_state(phase))
    return pg.attach(session, values)


def pg_resolution(
    pending_key: str,
    phase: TransferPhase,
    *,
    key: str,
    amount: int | None,
    reason: str | None,
    now: datetime,
    autocommit: bool = False,
) -> tuple[str, dict[str, Any]]:
    """A hold's resolution as one statement on PostgreSQL (see `pg.resolve_sql`), and its
    arguments."""
    args = {
        "pending_key": pending_key,
        "now": pg.now_param(now),
        "amount": amount,
        "reason": reason,
        "id": uuid.uuid4(),
        "key": key,
        "actor": "system",
    }
    return pg.resolve_sql(phase, amount is not None, autocommit), args


def resolved(
    row: Sequence[Any], phase: TransferPhase, args: Mapping[str, Any]
) -> tuple[Spec, dict[str, Any], bool]:
    """What the claimed hold's resolution asked for, the transfer row it was to insert, and
    whether it did (not when the key was taken)."""
    hold_id, kind, user_id, debit, credit, held, reference, held_reason, system, inserted = row
    assert system is not None, "a hold's accounts exist"
    amount = args["amount"]
    spec = Spec(
        kind=TransferKind(kind),
        phase=phase,
        user_id=user_id,
        direction="debit",
        amount=held if amount is None else amount,
        reference=reference,
        reason=held_reason if phase is TransferPhase.POST else args["reason"],
        pending_id=hold_id,
    )
    values = core.row_for(
        spec, key=args["key"], actor="system", now=args["now"], debit=debit, credit=credit
    )
    values["id"] = args["id"]
    return spec, values, inserted is not None


def _resolved_state(phase: TransferPhase) -> HoldState:
    return HoldState.POSTED if phase is TransferPhase.POST else HoldState.VOIDED


def _claim(
    session: Session, pending_key: str, phase: TransferPhase, now: datetime, amount: int | None
) -> Transfer | None:
    stmt = (
        update(Transfer)
        .where(
            Transfer.key == pending_key,
            Transfer.phase == TransferPhase.PENDING,
            Transfer.state == HoldState.PENDING,
            Transfer.expires_at > now,
        )
        .values(state=_resolved_state(phase))
        .returning(Transfer)
    )
    if amount is not None:
        stmt = stmt.where(Transfer.amount >= amount)
    options = {"populate_existing": True}
    return session.scalars(stmt, execution_options=options).first()


def _refused(
    session: Session,
    pending_key: str,
    phase: TransferPhase,
    *,
    key: str,
    amount: int | None,
    reason: str | None,
    now: datetime,
) -> Transfer:
    held = get_hold(session, pending_key)
    existing = core.find(session, key)
    if existing is not None:
        return core.check_replay(session, existing, _spec(held, phase, amount, reason))
    if amount is not None and amount > held.amount:
        raise InvalidInput(f"cannot post {amount} credits of a hold of {held.amount}")
    raise _unresolvable(session, held, now)


def _unresolvable(session: Session, held: Transfer, now: datetime) -> Conflict:
    session.refresh(held)
    if held.state is HoldState.PENDING and held.expires_at is not None:
        return Conflict(
            f"hold {held.key!r} expired at {held.expires_at.isoformat()}",
            hint="its credits are available again; place a new hold",
        )
    by = session.scalar(
        select(Transfer.key).where(Transfer.pending_id == held.id).order_by(Transfer.created_at)
    )
    state = held.state.value if held.state else "resolved"
    return Conflict(
        f"hold {held.key!r} is already {state}" + (f" (by {by!r})" if by else ""),
        hint="a hold is posted, voided or expires exactly once",
    )


def expire_holds(session: Session, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """Expire every hold whose timeout has passed; the number expired."""
    count = core.expire_overdue(session, clock.now())
    if count:
        audit.record(session, "credits.holds_expired", details={"count": count}, clock=clock)
    return count


def list_holds(
    session: Session,
    user_id: uuid.UUID | None = None,
    *,
    state: HoldState | None = HoldState.PENDING,
    limit: int | None = None,
) -> list[Transfer]:
    """Holds, oldest first; by default only those still pending."""
    query = select(Transfer).where(Transfer.phase == TransferPhase.PENDING)
    if user_id is not None:
        query = query.where(Transfer.user_id == user_id)
    if state is HoldState.PENDING:
        query = query.where(core.OPEN_HOLD_CONDITION)
    elif state is not None:
        query = query.where(Transfer.state == state)
    query = query.order_by(Transfer.created_at, Transfer.id).limit(limit)
    return list(session.scalars(query).all())
