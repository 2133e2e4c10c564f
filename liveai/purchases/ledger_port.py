"""The only place purchases touch the ledger: credit a purchase, claw a refund back."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from liveai.clock import Clock


def purchase_key(transaction_id: str) -> str:
    """The idempotency key the ledger gives a purchase credit."""
    return f"appstore:{transaction_id}"


def credit(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    transaction_id: str,
    product_id: str,
    clock: Clock,
) -> str:
    """Credit a purchase (a replay with the same key is a no-op); returns the transfer key."""
    from liveai import ledger

    ledger.credit_purchase(
        session,
        user_id,
        amount,
        transaction_id=transaction_id,
        product_id=product_id,
        clock=clock,
    )
    return purchase_key(transaction_id)


def claw_back(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    reference: str,
    reason: str,
    clock: Clock,
) -> tuple[int, int]:
    """Take back what is available (never below zero): (taken, shortfall already spent)."""
    from liveai import ledger

    transfer = ledger.clawback(
        session, user_id, amount, key=key, reference=reference, reason=reason, clock=clock
    )
    return transfer.amount, transfer.shortfall
