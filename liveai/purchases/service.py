"""Credit each App Store transaction exactly once, to exactly one user."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import Clock
from liveai.errors import Conflict, InvalidInput
from liveai.models import Purchase, PurchaseState, StoreNotification, User, UserStatus
from liveai.purchases import ledger_port
from liveai.purchases.catalog import StoreConfig
from liveai.purchases.receipts import VerifiedReceipt
from liveai.purchases.transactions import StoreTransaction, from_receipt_entry

CREDITED = "credited"
ALREADY = "already credited"
SKIPPED_REVOKED = "skipped: refunded or revoked"


@dataclass(frozen=True)
class CreditOutcome:
    transaction_id: str
    product_id: str
    credits: int
    status: str


@dataclass(frozen=True)
class CreditResult:
    user_id: uuid.UUID
    environment: str
    outcomes: list[CreditOutcome] = field(default_factory=list)

    @property
    def credited(self) -> int:
        return sum(o.credits for o in self.outcomes if o.status == CREDITED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "environment": self.environment,
            "credited": self.credited,
            "transactions": [o.__dict__ for o in self.outcomes],
        }


def find_purchase(session: Session, transaction_id: str) -> Purchase | None:
    return session.scalar(select(Purchase).where(Purchase.transaction_id == transaction_id))


def _refused_other_user(purchase: Purchase) -> Conflict:
    return Conflict(
        f"App Store transaction {purchase.transaction_id} was already credited to another user "
        f"({purchase.user_id}); it is never credited twice",
        hint="the receipt belongs to another account; see `liveai receipts list`",
    )


def _check_user(session: Session, user: User, tx: StoreTransaction) -> None:
    if user.status != UserStatus.ACTIVE:
        raise Conflict(f"user {user.id} is {user.status.value}; purchases are not credited")
    token = tx.app_account_token
    if token and token != str(user.id):
        try:
            owner = session.get(User, uuid.UUID(token))
        except ValueError:
            owner = None
        if owner is not None:
            raise Conflict(
                f"transaction {tx.transaction_id} was bought by another user's account token",
                hint="credit it to the user whose id is its appAccountToken",
            )


def _refunded_before_credit(session: Session, transaction_id: str) -> bool:
    """A REFUND notification that arrived before the purchase was credited is a tombstone."""
    last = session.scalar(
        select(StoreNotification.notification_type)
        .where(
            StoreNotification.transaction_id == transaction_id,
            StoreNotification.notification_type.in_(("REFUND", "REFUND_REVERSED")),
        )
        .order_by(StoreNotification.signed_at.desc(), StoreNotification.id.desc())
        .limit(1)
    )
    return last == "REFUND"


def _insert(session: Session, purchase: Purchase) -> Purchase | None:
    """Insert in a savepoint; None when a concurrent submission inserted it first."""
    try:
        with session.begin_nested():
            session.add(purchase)
    except IntegrityError:
        return None
    return purchase


def _new_purchase(
    user: User, tx: StoreTransaction, credits: int, source: str, clock: Clock
) -> Purchase:
    now = clock.now()
    return Purchase(
        transaction_id=tx.transaction_id,
        original_transaction_id=tx.original_transaction_id,
        product_id=tx.product_id,
        environment=tx.environment,
        quantity=tx.quantity,
        credits=credits,
        state=PurchaseState.CREDITED,
        source=source,
        user_id=user.id,
        transfer_key=ledger_port.purchase_key(tx.transaction_id),
        refunds=0,
        purchased_at=tx.purchased_at,
        created_at=now,
        updated_at=now,
    )


def credit_transaction(
    session: Session,
    user: User,
    tx: StoreTransaction,
    credits: int,
    *,
    source: str,
    clock: Clock,
    actor: str = "system",
) -> CreditOutcome:
    """Credit one transaction once; a replay for the same user is reported, not repeated."""
    existing = find_purchase(session, tx.transaction_id)
    if existing is None and (tx.revoked or _refunded_before_credit(session, tx.transaction_id)):
        return CreditOutcome(tx.transaction_id, tx.product_id, 0, SKIPPED_REVOKED)
    if existing is None:
        existing = _insert(session, _new_purchase(user, tx, credits, source, clock))
        if existing is not None:
            _post_credit(session, existing, clock=clock, actor=actor)
            return CreditOutcome(tx.transaction_id, tx.product_id, credits, CREDITED)
        existing = find_purchase(session, tx.transaction_id)
        assert existing is not None, "a unique violation without a row"
    if existing.user_id != user.id:
        raise _refused_other_user(existing)
    return CreditOutcome(tx.transaction_id, tx.product_id, existing.credits, ALREADY)


def _post_credit(session: Session, purchase: Purchase, *, clock: Clock, actor: str) -> None:
    ledger_port.credit(
        session,
        purchase.user_id,
        purchase.credits,
        transaction_id=purchase.transaction_id,
        product_id=purchase.product_id,
        clock=clock,
    )
    audit.record(
        session,
        "purchase.credited",
        user_id=purchase.user_id,
        details={
            "transaction_id": purchase.transaction_id,
            "product_id": purchase.product_id,
            "credits": purchase.credits,
            "environment": purchase.environment,
            "source": purchase.source,
        },
        actor=actor,
        clock=clock,
    )


def credit_transactions(
    session: Session,
    user: User,
    transactions: Sequence[StoreTransaction],
    config: StoreConfig,
    *,
    environment: str,
    source: str,
    clock: Clock,
    actor: str = "system",
) -> CreditResult:
    """Check every transaction first (product, owner), then credit the new ones."""
    priced = [(tx, config.credits_for(tx.product_id, tx.quantity)) for tx in transactions]
    for tx, _ in priced:
        _check_user(session, user, tx)
        owned = find_purchase(session, tx.transaction_id)
        if owned is not None and owned.user_id != user.id:
            raise _refused_other_user(owned)
    outcomes = [
        credit_transaction(session, user, tx, credits, source=source, clock=clock, actor=actor)
        for tx, credits in priced
    ]
    return CreditResult(user.id, environment, outcomes)


def credit_receipt(
    session: Session,
    user: User,
    receipt: VerifiedReceipt,
    config: StoreConfig,
    *,
    clock: Clock,
    actor: str = "system",
) -> CreditResult:
    """Credit the consumables of a verified receipt; old ones already credited are skipped."""
    if receipt.bundle_id != config.bundle_id:
        raise InvalidInput(
            f"the receipt is for bundle {receipt.bundle_id!r}, not {config.bundle_id!r}",
            hint="check LIVEAI_APPLE_BUNDLE_ID",
        )
    config.check_environment(receipt.environment)
    transactions = [from_receipt_entry(e, receipt.environment) for e in receipt.transactions]
    if not transactions:
        raise InvalidInput(
            "the receipt holds no in-app purchase",
            hint="verify the receipt before the app finishes the transaction",
        )
    return credit_transactions(
        session,
        user,
        transactions,
        config,
        environment=receipt.environment,
        source="receipt",
        clock=clock,
        actor=actor,
    )


def list_purchases(
    session: Session, *, user_id: uuid.UUID | None = None, limit: int | None = None
) -> Sequence[Purchase]:
    query = select(Purchase).order_by(Purchase.created_at, Purchase.transaction_id)
    if user_id is not None:
        query = query.where(Purchase.user_id == user_id)
    return session.scalars(query.limit(limit)).all()


def purchase_to_dict(purchase: Purchase) -> dict[str, Any]:
    return {
        "transaction_id": purchase.transaction_id,
        "original_transaction_id": purchase.original_transaction_id,
        "product_id": purchase.product_id,
        "environment": purchase.environment,
        "quantity": purchase.quantity,
        "credits": purchase.credits,
        "state": purchase.state.value,
        "source": purchase.source,
        "user_id": str(purchase.user_id),
        "transfer_key": purchase.transfer_key,
        "purchased_at": purchase.purchased_at.isoformat() if purchase.purchased_at else None,
        "created_at": purchase.created_at.isoformat(),
    }
