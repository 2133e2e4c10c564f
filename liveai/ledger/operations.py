"""Posted transfers: purchases, grants, consumption, refunds, clawbacks and corrections."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import InvalidInput
from liveai.ledger import accounts, core
from liveai.ledger.accounts import ACCOUNTS, SystemAccount
from liveai.ledger.core import MAX_REASON, MAX_REFERENCE, Spec, check_amount, check_text
from liveai.ledger.keys import purchase_key
from liveai.models import Transfer, TransferKind, TransferPhase


def _single(
    session: Session,
    kind: TransferKind,
    user_id: uuid.UUID,
    amount: int,
    *,
    direction: str,
    system: SystemAccount,
    key: str,
    reference: str | None,
    reason: str | None,
    actor: str,
    clock: Clock,
    reason_required: bool = True,
) -> tuple[Transfer, bool]:
    spec = single_spec(
        kind, user_id, amount, direction=direction, reference=reference, reason=reason,
        reason_required=reason_required,
    )  # fmt: skip
    return core.submit(
        session, spec, key=core.check_key(key), system=system, actor=actor, now=clock.now()
    )


def single_spec(
    kind: TransferKind,
    user_id: uuid.UUID,
    amount: int,
    *,
    direction: str,
    reference: str | None,
    reason: str | None,
    reason_required: bool = True,
) -> Spec:
    """A posted transfer's request, checked."""
    return Spec(
        kind=kind,
        phase=TransferPhase.SINGLE,
        user_id=user_id,
        direction=direction,
        amount=check_amount(amount),
        reference=check_text(reference, "reference", MAX_REFERENCE),
        reason=check_text(reason, "reason", MAX_REASON, required=reason_required),
    )


_RECORDED = "liveai.ledger.recorded"


def recorded_here(session: Session, transfer: Transfer) -> bool:
    """Whether this session recorded ``transfer`` (False: it replays one recorded earlier,
    perhaps by a concurrent caller with the same key)."""
    return transfer.id in session.info.get(_RECORDED, ())


def _audited(
    session: Session, transfer: Transfer, action: str, *, actor: str, clock: Clock, fresh: bool
) -> Transfer:
    if fresh:
        session.info.setdefault(_RECORDED, set()).add(transfer.id)
        details: dict[str, Any] = {
            "transfer_id": str(transfer.id),
            "kind": transfer.kind.value,
            "amount": transfer.amount,
        }
        if transfer.shortfall:
            details["shortfall"] = transfer.shortfall
        audit.record(
            session, action, user_id=transfer.user_id, details=details, actor=actor, clock=clock
        )
    return transfer


def grant(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    reason: str,
    reference: str | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> Transfer:
    """Give promotional credits from the promo account; audited."""
    transfer, fresh = _single(
        session, TransferKind.GRANT, user_id, amount, direction="credit",
        system=SystemAccount.PROMO, key=key, reference=reference, reason=reason,
        actor=actor, clock=clock,
    )  # fmt: skip
    return _audited(session, transfer, "credits.granted", actor=actor, clock=clock, fresh=fresh)


def consume(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    reference: str,
    reason: str,
    clock: Clock = SYSTEM_CLOCK,
) -> Transfer:
    """Spend credits at once; InsufficientCredits beyond the available balance."""
    transfer, _ = _single(
        session, TransferKind.CONSUME, user_id, amount, direction="debit",
        system=SystemAccount.CONSUMED, key=key, reference=reference, reason=reason,
        actor="system", clock=clock,
    )  # fmt: skip
    return transfer


def credit_purchase(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    transaction_id: str,
    product_id: str,
    clock: Clock = SYSTEM_CLOCK,
) -> Transfer:
    """Credit an App Store purchase; the transaction id makes it happen at most once."""
    if not transaction_id or not transaction_id.strip():
        raise InvalidInput("a purchase needs its App Store transaction id")
    key = purchase_key(transaction_id)
    transfer, fresh = _single(
        session, TransferKind.PURCHASE, user_id, amount, direction="credit",
        system=SystemAccount.APPSTORE, key=key, reference=transaction_id,
        reason=f"product {product_id}", actor="appstore", clock=clock,
    )  # fmt: skip
    return _audited(
        session, transfer, "credits.purchased", actor="appstore", clock=clock, fresh=fresh
    )


def refund(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    reference: str,
    reason: str,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> Transfer:
    """Give consumed credits back to the user (a failed or unwanted generation); audited."""
    transfer, fresh = _single(
        session, TransferKind.REFUND, user_id, amount, direction="credit",
        system=SystemAccount.CONSUMED, key=key, reference=reference, reason=reason,
        actor=actor, clock=clock,
    )  # fmt: skip
    return _audited(session, transfer, "credits.refunded", actor=actor, clock=clock, fresh=fresh)


def correction(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    reason: str,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> Transfer:
    """A signed correcting transfer: positive credits the user, negative debits (never
    below zero: InsufficientCredits beyond the available balance); audited."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidInput(f"a correction must be a non-zero whole number, got {amount!r}")
    transfer, fresh = _single(
        session, TransferKind.CORRECTION, user_id, abs(amount),
        direction="credit" if amount > 0 else "debit", system=SystemAccount.CORRECTIONS,
        key=key, reference=None, reason=reason, actor=actor, clock=clock,
    )  # fmt: skip
    return _audited(session, transfer, "credits.corrected", actor=actor, clock=clock, fresh=fresh)


def clawback(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    reference: str,
    reason: str,
    clock: Clock = SYSTEM_CLOCK,
) -> Transfer:
    """An App Store refund: a balancing debit of what is available, never below zero.

    The transfer's `amount` is what was taken and its `shortfall` the rest, which the
    user had already spent: recorded on the transfer (and summed by reconcile), not owed.
    """
    spec = Spec(
        kind=TransferKind.CLAWBACK,
        phase=TransferPhase.SINGLE,
        user_id=user_id,
        direction="debit",
        amount=check_amount(amount),
        reference=check_text(reference, "reference", MAX_REFERENCE),
        reason=check_text(reason, "reason", MAX_REASON, required=True),
    )
    key = core.check_key(key)
    existing = core.find(session, key)
    if existing is not None:
        return core.check_replay(session, existing, spec)
    now = clock.now()
    account = accounts.ensure_user_account(session, user_id, now)
    taken = min(amount, _locked_available(session, account))
    accounts.change_by_id(session, account, {"debits_posted": taken})
    system = accounts.change_system(
        session, SystemAccount.CLAWBACK, accounts.shard_of(user_id), {"credits_posted": taken}, now
    )
    row = core.row_for(spec, key=key, actor="appstore", now=now, debit=account, credit=system)
    row.update(amount=taken, shortfall=amount - taken)
    transfer, fresh = core.insert(session, row), True
    if transfer is None:
        core.undo(session, {account: {"debits_posted": taken}, system: {"credits_posted": taken}})
        transfer, fresh = core.replay(session, key, spec), False
    return _audited(
        session, transfer, "credits.clawed_back", actor="appstore", clock=clock, fresh=fresh
    )


def _locked_available(session: Session, account_id: int) -> int:
    query = select(accounts.available_expr()).where(ACCOUNTS.c.id == account_id).with_for_update()
    return int(session.scalar(query) or 0)
