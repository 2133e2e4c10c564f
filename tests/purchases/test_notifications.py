from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai import ledger
from liveai.clock import FixedClock
from liveai.errors import AuthError, InvalidInput
from liveai.models import Purchase, PurchaseState, StoreNotification, Transfer, User
from liveai.purchases.notifications import (
    NotificationResult,
    list_notifications,
    process_notification,
)
from liveai.purchases.operations import redeem_signed_transaction
from liveai.purchases.service import SKIPPED_REVOKED
from liveai.users import create_user
from tests.purchases.helpers import StorePki, notification_body, transaction_payload

TX = "2000000000000001"


@pytest.fixture
def buyer(session: Session, clock: FixedClock, pki: StorePki) -> User:
    user = create_user(session, issuer="https://auth.example/oidc", subject="buyer")
    signed = pki.sign(transaction_payload(TX))
    redeem_signed_transaction(session, "buyer", signed, pki.config(), clock=clock)
    return user


def available(session: Session, user: User) -> int:
    return ledger.balance(session, user.id).available


def purchase(session: Session) -> Purchase:
    row = session.scalar(select(Purchase).where(Purchase.transaction_id == TX))
    assert row is not None
    return row


def notify(
    session: Session, pki: StorePki, clock: FixedClock, kind: str, uuid: str, **kw: Any
) -> NotificationResult:
    body = notification_body(pki, kind, uuid=uuid, **kw)
    return process_notification(session, body, pki.config(), clock=clock)


def test_refund_claws_back_once_however_often_apple_redelivers(
    session: Session, clock: FixedClock, pki: StorePki, buyer: User
) -> None:
    first = notify(session, pki, clock, "REFUND", "u-1")
    assert (first.outcome, first.duplicate) == ("clawed back 100", False)
    again = notify(session, pki, clock, "REFUND", "u-1")
    assert again.duplicate and again.outcome == "clawed back 100"
    assert available(session, buyer) == 0
    assert purchase(session).state == PurchaseState.REFUNDED
    # a second REFUND with a new UUID for the same transaction takes nothing more
    assert notify(session, pki, clock, "REFUND", "u-2").outcome == "already refunded"
    assert available(session, buyer) == 0


def test_refund_of_spent_credits_never_goes_negative(
    session: Session, clock: FixedClock, pki: StorePki, buyer: User
) -> None:
    ledger.consume(
        session, buyer.id, 70, key="spend-1", reference="task-1", reason="video", clock=clock
    )
    result = notify(session, pki, clock, "REFUND", "u-3")
    assert result.outcome == "clawed back 30, 70 already spent"
    assert available(session, buyer) == 0
    clawback = session.scalar(select(Transfer).where(Transfer.key == f"appstore-refund:{TX}:1"))
    assert clawback is not None and (clawback.amount, clawback.shortfall) == (30, 70)


def test_refund_reversed_credits_again_once(
    session: Session, clock: FixedClock, pki: StorePki, buyer: User
) -> None:
    notify(session, pki, clock, "REFUND", "u-4")
    assert notify(session, pki, clock, "REFUND_REVERSED", "u-5").outcome == "credited again"
    assert notify(session, pki, clock, "REFUND_REVERSED", "u-5").duplicate
    assert notify(session, pki, clock, "REFUND_REVERSED", "u-6").outcome.startswith("ignored")
    assert available(session, buyer) == 100
    assert purchase(session).state == PurchaseState.REFUND_REVERSED
    # refunded again after the reversal: a new clawback, not a replay of the first
    assert notify(session, pki, clock, "REFUND", "u-7").outcome == "clawed back 100"
    assert available(session, buyer) == 0


def test_consumption_request_without_consent_is_declined(
    session: Session, clock: FixedClock, pki: StorePki, buyer: User
) -> None:
    result = notify(
        session,
        pki,
        clock,
        "CONSUMPTION_REQUEST",
        "u-8",
        consumptionRequestReason="UNINTENDED_PURCHASE",
    )
    assert result.outcome == "declined: not consented"
    (row,) = list_notifications(session, notification_type="CONSUMPTION_REQUEST")
    assert (row.reason, row.transaction_id) == ("UNINTENDED_PURCHASE", TX)
    assert available(session, buyer) == 100


def test_other_types_are_recorded_and_ignored(
    session: Session, clock: FixedClock, pki: StorePki, buyer: User
) -> None:
    for n, kind in enumerate(["ONE_TIME_CHARGE", "REFUND_DECLINED", "TEST"]):
        assert notify(session, pki, clock, kind, f"o-{n}", transaction_id=None).outcome.startswith(
            "ignored"
        )
    assert session.scalar(select(func.count()).select_from(StoreNotification)) == 3
    assert available(session, buyer) == 100


def test_refund_before_credit_leaves_a_tombstone(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    notify(session, pki, clock, "REFUND", "t-1", transaction_id="42")
    create_user(session, issuer="https://auth.example/oidc", subject="late")
    signed = pki.sign(transaction_payload("42"))
    result = redeem_signed_transaction(session, "late", signed, pki.config(), clock=clock)
    assert result.outcomes[0].status == SKIPPED_REVOKED and result.credited == 0


def test_notification_for_another_bundle_or_app_is_refused(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    body = notification_body(pki, "REFUND", uuid="b-1", bundleId="com.other")
    with pytest.raises(InvalidInput, match=r"bundle 'com\.other'"):
        process_notification(session, body, pki.config(), clock=clock)
    body = notification_body(pki, "REFUND", uuid="b-2")
    with pytest.raises(AuthError, match="not 99"):
        process_notification(session, body, pki.config(app_apple_id=99), clock=clock)
    assert session.scalar(select(func.count()).select_from(StoreNotification)) == 0


def test_sandbox_notification_is_ignored_in_production(
    session: Session, clock: FixedClock, pki: StorePki, buyer: User
) -> None:
    body = notification_body(pki, "REFUND", uuid="s-1", environment="Sandbox")
    result = process_notification(session, body, pki.config(allow_sandbox=False), clock=clock)
    assert result.outcome == "ignored: Sandbox notification"
    assert available(session, buyer) == 100


def test_bad_bodies_are_bad_input(session: Session, clock: FixedClock, pki: StorePki) -> None:
    bodies = ["not json", "[]", '{"signedPayload": 5}', json.dumps({"signedPayload": "a.b"})]
    for body in bodies:
        with pytest.raises(InvalidInput):
            process_notification(session, body, pki.config(), clock=clock)


def test_forged_notification_is_refused(
    session: Session, clock: FixedClock, pki: StorePki, buyer: User
) -> None:
    forger = StorePki()
    body = notification_body(forger, "REFUND", uuid="f-1")
    with pytest.raises(AuthError):
        process_notification(session, body, pki.config(), clock=clock)
    assert available(session, buyer) == 100
