"""The only place purchases touch the ledger: credit a purchase, claw a refund back."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from liveai import ledger
from liveai.clock import Clock
from liveai.ledger import purchase_key as purchase_key


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
    transfer = ledger.clawback(
        session, user_id, amount, key=key, reference=reference, reason=reason, clock=clock
    )
    return transfer.amount, transfer.shortfall
