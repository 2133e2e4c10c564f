"""Reading the ledger: balances, history, and transfers as plain dictionaries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import NotFound
from liveai.ids import resolve_id
from liveai.ledger.accounts import ACCOUNTS
from liveai.ledger.core import OPEN_HOLD_CONDITION
from liveai.models import Transfer, TransferPhase, User


@dataclass(frozen=True)
class Balance:
    """available = posted - pending; pending = credits reserved by holds."""

    available: int
    pending: int
    posted: int


def balance(session: Session, user_id: uuid.UUID, *, clock: Clock = SYSTEM_CLOCK) -> Balance:
    """The user's balance; holds past their timeout already count as released."""
    c = ACCOUNTS.c
    row = session.execute(
        select(c.credits_posted - c.debits_posted, c.debits_pending).where(c.user_id == user_id)
    ).first()
    if row is None:
        if session.get(User, user_id) is None:
            raise NotFound(f"no user {user_id}", hint="see `liveai users list` for ids")
        return Balance(available=0, pending=0, posted=0)
    posted, pending = int(row[0]), int(row[1])
    pending -= _overdue(session, user_id, clock)
    return Balance(available=posted - pending, pending=pending, posted=posted)


def _overdue(session: Session, user_id: uuid.UUID, clock: Clock) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Transfer.amount), 0)).where(
            Transfer.user_id == user_id, OPEN_HOLD_CONDITION, Transfer.expires_at <= clock.now()
        )
    )
    return int(total or 0)


def history(session: Session, user_id: uuid.UUID, *, limit: int | None = None) -> list[Transfer]:
    """The user's transfers, newest first."""
    if session.get(User, user_id) is None:
        raise NotFound(f"no user {user_id}", hint="see `liveai users list` for ids")
    query = (
        select(Transfer)
        .where(Transfer.user_id == user_id)
        .order_by(Transfer.created_at.desc(), Transfer.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query).all())


def user_delta(session: Session, transfer: Transfer) -> int:
    """How the transfer changed the user's posted balance (0 for holds and voids)."""
    if transfer.phase not in (TransferPhase.SINGLE, TransferPhase.POST):
        return 0
    debit_code = session.scalar(
        select(ACCOUNTS.c.code).where(ACCOUNTS.c.id == transfer.debit_account_id)
    )
    return -transfer.amount if debit_code == f"user:{transfer.user_id}" else transfer.amount


def get_transfer(session: Session, ref: str) -> Transfer:
    """A transfer by id, unique id prefix, or idempotency key."""
    hint = "see `liveai credits history USER` for ids"
    transfer_id = resolve_id(session, Transfer.id, ref, noun="transfer", hint=hint)
    found = session.get(Transfer, transfer_id) if transfer_id else None
    if found is None:
        found = session.scalar(select(Transfer).where(Transfer.key == ref))
    if found is None:
        raise NotFound(f"no transfer {ref!r}", hint=hint)
    return found


def transfer_to_dict(transfer: Transfer, *, delta: int | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": str(transfer.id),
        "key": transfer.key,
        "kind": transfer.kind.value,
        "phase": transfer.phase.value,
        "user_id": str(transfer.user_id),
        "amount": transfer.amount,
        "shortfall": transfer.shortfall,
        "pending_id": str(transfer.pending_id) if transfer.pending_id else None,
        "state": transfer.state.value if transfer.state else None,
        "expires_at": transfer.expires_at.isoformat() if transfer.expires_at else None,
        "reference": transfer.reference,
        "reason": transfer.reason,
        "actor": transfer.actor,
        "created_at": transfer.created_at.isoformat(),
    }
    if delta is not None:
        shown["delta"] = delta
    return shown
