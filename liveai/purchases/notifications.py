"""App Store Server Notifications V2: verified, processed once per notificationUUID.

REFUND claws the credits back (what is available; the ledger records the rest as owed),
REFUND_REVERSED credits them again once, CONSUMPTION_REQUEST is answered with Send
Consumption Information when the customer consented (`consumption`), every other type is
recorded and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import Clock
from liveai.errors import AuthError, InvalidInput
from liveai.models import Purchase, PurchaseState, StoreNotification
from liveai.purchases import consumption, ledger_port
from liveai.purchases.catalog import PRODUCTION, StoreConfig
from liveai.purchases.consumption import Sender
from liveai.purchases.jws import verify_jws
from liveai.purchases.service import find_purchase

REFUND = "REFUND"
REFUND_REVERSED = "REFUND_REVERSED"
CONSUMPTION_REQUEST = "CONSUMPTION_REQUEST"


@dataclass(frozen=True)
class NotificationResult:
    notification_uuid: str
    notification_type: str
    subtype: str | None
    transaction_id: str | None
    outcome: str
    duplicate: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_body(body: str | bytes) -> str:
    """The signedPayload of a notification body exactly as Apple posts it."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "the notification body is not JSON",
            hint='pass the body Apple posted: {"signedPayload": "..."}',
        ) from None
    signed = document.get("signedPayload") if isinstance(document, dict) else None
    if not isinstance(signed, str):
        raise InvalidInput("the notification body has no signedPayload string")
    return signed


def _ms(value: Any) -> datetime | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def _data(payload: dict[str, Any]) -> dict[str, Any]:
    for key in ("data", "summary", "externalPurchaseToken"):
        if isinstance(payload.get(key), dict):
            return dict(payload[key])
    return {}


def _check_app(data: dict[str, Any], config: StoreConfig) -> None:
    if data.get("bundleId") != config.bundle_id:
        raise InvalidInput(
            f"the notification is for bundle {data.get('bundleId')!r}, not {config.bundle_id!r}",
            hint="check LIVEAI_APPLE_BUNDLE_ID",
        )
    wanted = config.app_apple_id
    if data.get("environment") == PRODUCTION and wanted and data.get("appAppleId") != wanted:
        raise AuthError(f"the notification is for app {data.get('appAppleId')!r}, not {wanted}")


def _transaction_id(data: dict[str, Any], config: StoreConfig, now: datetime) -> str | None:
    signed = data.get("signedTransactionInfo")
    if not isinstance(signed, str):
        return None
    transaction = verify_jws(signed, root=config.root(), now=now)
    if transaction.get("bundleId") != config.bundle_id:
        raise InvalidInput("the notification's transaction is for another bundle")
    value = transaction.get("transactionId")
    return str(value) if value is not None else None


def _claim(session: Session, row: StoreNotification) -> bool:
    """Insert the notification row; False when this UUID was already processed."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _existing(session: Session, notification_uuid: str) -> StoreNotification | None:
    return session.scalar(
        select(StoreNotification).where(StoreNotification.notification_uuid == notification_uuid)
    )


def process_notification(
    session: Session,
    body: str | bytes,
    config: StoreConfig,
    *,
    clock: Clock,
    actor: str = "system",
    send: Sender | None = None,
) -> NotificationResult:
    """Verify and apply one notification; a redelivery returns the first outcome unchanged.
    ``send`` answers a CONSUMPTION_REQUEST (without it, the request is declined)."""
    now = clock.now()
    payload = verify_jws(parse_body(body), root=config.root(), now=now)
    uuid_ = payload.get("notificationUUID")
    kind = payload.get("notificationType")
    if not isinstance(uuid_, str) or not isinstance(kind, str):
        raise InvalidInput("the notification has no notificationUUID or notificationType")
    data = _data(payload)
    _check_app(data, config)
    seen = _existing(session, uuid_)
    if seen is not None:
        return _result(seen, duplicate=True)
    row = StoreNotification(
        notification_uuid=uuid_,
        notification_type=kind,
        subtype=payload.get("subtype"),
        environment=data.get("environment"),
        transaction_id=_transaction_id(data, config, now),
        reason=data.get("consumptionRequestReason"),
        outcome="pending",
        signed_at=_ms(payload.get("signedDate")),
        received_at=now,
    )
    if not _claim(session, row):
        seen = _existing(session, uuid_)
        assert seen is not None
        return _result(seen, duplicate=True)
    row.outcome = _apply(session, row, config, send, clock=clock, actor=actor)
    audit.record(
        session,
        "purchase.notification",
        details={"type": kind, "uuid": uuid_, "outcome": row.outcome},
        actor=actor,
        clock=clock,
    )
    session.flush()
    return _result(row, duplicate=False)


def _result(row: StoreNotification, *, duplicate: bool) -> NotificationResult:
    return NotificationResult(
        row.notification_uuid,
        row.notification_type,
        row.subtype,
        row.transaction_id,
        row.outcome,
        duplicate,
    )


def _apply(
    session: Session,
    row: StoreNotification,
    config: StoreConfig,
    send: Sender | None,
    *,
    clock: Clock,
    actor: str,
) -> str:
    environment = row.environment or PRODUCTION
    if environment != PRODUCTION and not config.allow_sandbox:
        return f"ignored: {environment} notification"
    if row.notification_type == CONSUMPTION_REQUEST:
        purchase = find_purchase(session, row.transaction_id) if row.transaction_id else None
        return consumption.answer(session, row, purchase, send, clock=clock, actor=actor)
    if row.notification_type not in (REFUND, REFUND_REVERSED):
        return "ignored"
    if row.transaction_id is None:
        return "ignored: no transaction"
    purchase = find_purchase(session, row.transaction_id)
    if purchase is None:
        return "recorded: transaction not credited here"
    if row.notification_type == REFUND:
        return _refund(session, purchase, clock=clock, actor=actor)
    return _reverse(session, purchase, clock=clock, actor=actor)


def _refund(session: Session, purchase: Purchase, *, clock: Clock, actor: str) -> str:
    if purchase.state == PurchaseState.REFUNDED:
        return "already refunded"
    purchase.refunds += 1
    taken, shortfall = ledger_port.claw_back(
        session,
        purchase.user_id,
        purchase.credits,
        key=f"appstore-refund:{purchase.transaction_id}:{purchase.refunds}",
        reference=purchase.transaction_id,
        reason="App Store refund",
        clock=clock,
    )
    _set_state(session, purchase, PurchaseState.REFUNDED, clock=clock, actor=actor)
    return f"clawed back {taken}" + (f", {shortfall} already spent" if shortfall else "")


def _reverse(session: Session, purchase: Purchase, *, clock: Clock, actor: str) -> str:
    if purchase.state != PurchaseState.REFUNDED:
        return f"ignored: purchase is {purchase.state.value}"
    ledger_port.credit(
        session,
        purchase.user_id,
        purchase.credits,
        transaction_id=f"{purchase.transaction_id}:reversal:{purchase.refunds}",
        product_id=purchase.product_id,
        clock=clock,
    )
    _set_state(session, purchase, PurchaseState.REFUND_REVERSED, clock=clock, actor=actor)
    return "credited again"


def _set_state(
    session: Session, purchase: Purchase, state: PurchaseState, *, clock: Clock, actor: str
) -> None:
    purchase.state = state
    purchase.updated_at = clock.now()
    audit.record(
        session,
        f"purchase.{state.value}",
        user_id=purchase.user_id,
        details={"transaction_id": purchase.transaction_id, "credits": purchase.credits},
        actor=actor,
        clock=clock,
    )


def list_notifications(
    session: Session, *, notification_type: str | None = None, limit: int | None = None
) -> Sequence[StoreNotification]:
    query = select(StoreNotification).order_by(StoreNotification.id)
    if notification_type:
        query = query.where(StoreNotification.notification_type == notification_type)
    return session.scalars(query.limit(limit)).all()


def notification_to_dict(row: StoreNotification) -> dict[str, Any]:
    return {
        "notification_uuid": row.notification_uuid,
        "type": row.notification_type,
        "subtype": row.subtype,
        "environment": row.environment,
        "transaction_id": row.transaction_id,
        "reason": row.reason,
        "outcome": row.outcome,
        "signed_at": row.signed_at.isoformat() if row.signed_at else None,
        "received_at": row.received_at.isoformat(),
    }
