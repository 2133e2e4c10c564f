"""Answering Apple's CONSUMPTION_REQUEST: Send Consumption Information, only with consent.

Apple asks, for a refund request on a consumable, how much of it was used; the answer may
only be sent when the customer consented (`customerConsented` must be true). Our consent
rules derive what that takes (`consumption_data`, and giving the data overseas to Apple
as an independent handler); without it, or without a credited purchase, the request is
recorded as declined with the reason. The figures come from our ledger: the share of the
pack's credits no longer in the user's balance counts as consumed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.orm import Session

from liveai import audit, ledger
from liveai.clock import Clock
from liveai.errors import ConfigError
from liveai.models import Purchase, PurchaseState, StoreNotification
from liveai.privacy import consents
from liveai.purchases.server_api import clients_from_settings
from liveai.settings import Settings

Sender = Callable[[str, str, dict[str, Any]], None]
"""(environment, transaction id, body): sends Send Consumption Information."""

APP_STORE = "app_store"
MILLI_PERCENT = 100_000


def consumption_body(session: Session, purchase: Purchase, *, clock: Clock) -> dict[str, Any]:
    """The v2 ConsumptionRequest fields we can state from our records."""
    available = ledger.balance(session, purchase.user_id, clock=clock).available
    unspent = max(0, min(available, purchase.credits))
    used = purchase.credits - unspent
    delivered = purchase.state in (PurchaseState.CREDITED, PurchaseState.REFUND_REVERSED)
    return {
        "customerConsented": True,
        "sampleContentProvided": False,
        "deliveryStatus": "DELIVERED" if delivered else "UNDELIVERED_OTHER",
        "consumptionPercentage": used * MILLI_PERCENT // max(purchase.credits, 1),
    }


def answer(
    session: Session,
    row: StoreNotification,
    purchase: Purchase | None,
    send: Sender | None,
    *,
    clock: Clock,
    actor: str,
) -> str:
    """Send the consumption information, or record why not; the outcome as recorded."""
    if purchase is None:
        return _declined(session, row, None, "not credited here", {}, clock, actor)
    missing = consents.check(session, purchase.user_id, "consumption", APP_STORE)
    if missing:
        names = {"missing": [n.name for n in missing]}
        return _declined(session, row, purchase, "not consented", names, clock, actor)
    if send is None:
        reason = "Server API not configured"
        return _declined(session, row, purchase, reason, {}, clock, actor)
    body = consumption_body(session, purchase, clock=clock)
    send(row.environment or "Production", purchase.transaction_id, body)
    details = {
        "transaction_id": purchase.transaction_id,
        "percentage": body["consumptionPercentage"],
    }
    audit.record(
        session,
        "purchase.consumption_sent",
        user_id=purchase.user_id,
        details=details,
        actor=actor,
        clock=clock,
    )
    return f"consumption sent: {body['consumptionPercentage'] / 1000:g}% used"


def _declined(
    session: Session,
    row: StoreNotification,
    purchase: Purchase | None,
    reason: str,
    more: dict[str, Any],
    clock: Clock,
    actor: str,
) -> str:
    """Recorded as the outcome (short: the column holds 64 characters) and, with what was
    missing, in the audit log."""
    details = {"transaction_id": row.transaction_id, "reason": reason, **more}
    audit.record(
        session,
        "purchase.consumption_declined",
        user_id=purchase.user_id if purchase else None,
        details=details,
        actor=actor,
        clock=clock,
    )
    return f"declined: {reason}"


def sender_from_settings(settings: Settings, http: httpx.Client, clock: Clock) -> Sender | None:
    """Send through the App Store Server API of the notification's environment; None when
    the API is not configured."""
    try:
        clients = clients_from_settings(settings, http, clock, sleep=lambda _s: None)
    except ConfigError:
        return None
    by_url = {c.base_url: c for c in clients}

    def send(environment: str, transaction_id: str, body: dict[str, Any]) -> None:
        url = (
            settings.apple_api_url
            if environment == "Production"
            else settings.apple_api_sandbox_url
        )
        client = by_url.get(url.rstrip("/"), clients[0])
        client.send_consumption_information(transaction_id, body)

    return send
