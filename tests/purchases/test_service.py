from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai import ledger
from liveai.clock import FixedClock
from liveai.errors import Conflict, InvalidInput
from liveai.models import AuditEvent, Purchase, PurchaseState, Transfer, User
from liveai.purchases.operations import redeem_receipt, redeem_signed_transaction
from liveai.purchases.receipts import VerifiedReceipt
from liveai.purchases.service import ALREADY, CREDITED, SKIPPED_REVOKED, list_purchases
from liveai.users import create_user
from tests.purchases.helpers import StorePki, in_app, receipt_body, transaction_payload

ISS = "https://auth.example/oidc"


def user(session: Session, sub: str) -> User:
    return create_user(session, issuer=ISS, subject=sub)


def receipt(*entries: dict[str, str], environment: str = "Production") -> VerifiedReceipt:
    return VerifiedReceipt(environment, receipt_body(list(entries), environment=environment))


def available(session: Session, who: User) -> int:
    return ledger.balance(session, who.id).available


def transfers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Transfer)) or 0


def test_a_receipt_credits_each_transaction_once(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    ann = user(session, "ann")
    config = pki.config()
    first = redeem_receipt(session, "ann", receipt(in_app("1")), config, clock=clock)
    assert [o.status for o in first.outcomes] == [CREDITED] and first.credited == 100
    again = redeem_receipt(
        session, "ann", receipt(in_app("1"), in_app("2", "ai.live.credits500")), config, clock=clock
    )
    assert [(o.transaction_id, o.status) for o in again.outcomes] == [
        ("1", ALREADY),
        ("2", CREDITED),
    ]
    assert again.credited == 500
    assert available(session, ann) == 600
    assert transfers(session) == 2
    row = list_purchases(session, user_id=ann.id)[0]
    assert (row.transfer_key, row.state, row.source) == (
        "appstore:1",
        PurchaseState.CREDITED,
        "receipt",
    )


def test_a_purchase_and_its_ledger_credit_share_one_key(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    ann = user(session, "ann")
    redeem_receipt(session, "ann", receipt(in_app(" 7\t")), pki.config(), clock=clock)
    row = list_purchases(session, user_id=ann.id)[0]
    credited = session.scalars(select(Transfer.key)).all()
    assert row.transfer_key == "appstore:7" and credited == [row.transfer_key]
    direct = ledger.credit_purchase(
        session, ann.id, 100, transaction_id=" 8\n", product_id="ai.live.credits100"
    )
    assert direct.key == ledger.purchase_key("8") == ledger.purchase_key(" 8\n") == "appstore:8"


def test_quantity_multiplies_the_pack(session: Session, clock: FixedClock, pki: StorePki) -> None:
    bo = user(session, "bo")
    redeem_receipt(session, "bo", receipt(in_app("9", quantity="3")), pki.config(), clock=clock)
    assert available(session, bo) == 300


def test_transaction_of_another_user_is_refused_and_nothing_changes(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    user(session, "ann")
    cy = user(session, "cy")
    redeem_receipt(session, "ann", receipt(in_app("1")), pki.config(), clock=clock)
    with pytest.raises(Conflict, match="already credited to another user"):
        redeem_receipt(session, "cy", receipt(in_app("3"), in_app("1")), pki.config(), clock=clock)
    assert available(session, cy) == 0
    assert transfers(session) == 1


def test_unknown_product_is_refused_with_no_ledger_change(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    dee = user(session, "dee")
    with pytest.raises(InvalidInput, match=r"unknown App Store product 'ai\.live\.gold'"):
        redeem_receipt(
            session,
            "dee",
            receipt(in_app("4"), in_app("5", "ai.live.gold")),
            pki.config(),
            clock=clock,
        )
    assert available(session, dee) == 0
    assert session.scalar(select(func.count()).select_from(Purchase)) == 0


def test_wrong_bundle_and_sandbox_receipts_are_refused(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    user(session, "eve")
    wrong = VerifiedReceipt("Production", receipt_body([in_app("6")], bundle_id="com.x"))
    with pytest.raises(InvalidInput, match=r"bundle 'com\.x'"):
        redeem_receipt(session, "eve", wrong, pki.config(), clock=clock)
    sandbox = receipt(in_app("7"), environment="Sandbox")
    with pytest.raises(InvalidInput, match="Sandbox App Store purchase is refused"):
        redeem_receipt(session, "eve", sandbox, pki.config(allow_sandbox=False), clock=clock)
    assert redeem_receipt(session, "eve", sandbox, pki.config(), clock=clock).credited == 100


def test_cancelled_transactions_are_not_credited(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    fay = user(session, "fay")
    result = redeem_receipt(
        session, "fay", receipt(in_app("8", cancellation_date_ms="1")), pki.config(), clock=clock
    )
    assert [o.status for o in result.outcomes] == [SKIPPED_REVOKED]
    assert available(session, fay) == 0


def test_signed_transaction_credits_once(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    gus = user(session, "gus")
    signed = pki.sign(transaction_payload("11", quantity=2))
    assert (
        redeem_signed_transaction(session, "gus", signed, pki.config(), clock=clock).credited == 200
    )
    replay = redeem_signed_transaction(session, "gus", signed, pki.config(), clock=clock)
    assert [o.status for o in replay.outcomes] == [ALREADY]
    assert available(session, gus) == 200
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("purchase.credited") == 1


def test_signed_transaction_with_another_users_account_token_is_refused(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    hal = user(session, "hal")
    ivy = user(session, "ivy")
    signed = pki.sign(transaction_payload("12", appAccountToken=str(hal.id)))
    with pytest.raises(Conflict, match="another user's account token"):
        redeem_signed_transaction(session, "ivy", signed, pki.config(), clock=clock)
    assert available(session, ivy) == 0
    assert (
        redeem_signed_transaction(session, "hal", signed, pki.config(), clock=clock).credited == 100
    )


def test_revoked_signed_transaction_is_not_credited(
    session: Session, clock: FixedClock, pki: StorePki
) -> None:
    jo = user(session, "jo")
    signed = pki.sign(transaction_payload("13", revocationDate=1764300002000, revocationReason=0))
    result = redeem_signed_transaction(session, "jo", signed, pki.config(), clock=clock)
    assert result.outcomes[0].status == SKIPPED_REVOKED
    assert available(session, jo) == 0
