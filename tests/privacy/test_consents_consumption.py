"""CONSUMPTION_REQUEST answered through Send Consumption Information only with consent,
against the loopback App Store (which checks the request)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai import ledger
from liveai.clock import SYSTEM_CLOCK, FixedClock
from liveai.errors import InvalidInput
from liveai.models import AuditEvent, User
from liveai.privacy import consents
from liveai.purchases.notifications import NotificationResult, process_notification
from liveai.purchases.operations import redeem_signed_transaction
from liveai.purchases.server_api import ServerApiClient
from liveai.users import create_user
from tests.fakes.apple_store import AppleStoreFake
from tests.purchases.helpers import BUNDLE, NOW, StorePki, notification_body, transaction_payload

TX = "2000000000000001"
KEY = ec.generate_private_key(ec.SECP256R1())
NEEDED = ("consumption_data", "cross_border:app_store", "provide:app_store")


@pytest.fixture(scope="module")
def pki() -> StorePki:
    return StorePki()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> Iterator[AppleStoreFake]:
    fake = AppleStoreFake().start()
    fake.api_key = KEY.public_key()
    fake.api_bundle_id = BUNDLE
    yield fake
    fake.stop()


@pytest.fixture
def api(store: AppleStoreFake) -> Iterator[ServerApiClient]:
    with httpx.Client(timeout=2.0) as http:
        yield ServerApiClient(
            http,
            base_url=store.api_url,
            key_id="KEY123",
            issuer_id="57246542-96fe-1a63-e053-0824d011072a",
            private_key=KEY,
            bundle_id=BUNDLE,
            clock=SYSTEM_CLOCK,  # the fake checks the token's expiry against real time
            sleep=lambda _s: None,
        )


@pytest.fixture
def buyer(session: Session, clock: FixedClock, pki: StorePki) -> User:
    user = create_user(session, issuer="https://auth.example/oidc", subject="buyer")
    redeem_signed_transaction(
        session, "buyer", pki.sign(transaction_payload(TX)), pki.config(), clock=clock
    )
    return user


def request(
    session: Session,
    pki: StorePki,
    clock: FixedClock,
    api: ServerApiClient,
    uuid: str,
    transaction_id: str = TX,
) -> NotificationResult:
    body = notification_body(
        pki,
        "CONSUMPTION_REQUEST",
        uuid=uuid,
        transaction_id=transaction_id,
        consumptionRequestReason="UNINTENDED_PURCHASE",
    )

    def send(environment: str, tx: str, fields: dict[str, Any]) -> None:
        assert environment == "Production"
        api.send_consumption_information(tx, fields)

    return process_notification(session, body, pki.config(), clock=clock, send=send)


def test_without_consent_nothing_is_sent_and_the_reason_is_recorded(
    session: Session,
    clock: FixedClock,
    pki: StorePki,
    api: ServerApiClient,
    store: AppleStoreFake,
    buyer: User,
) -> None:
    consents.grant(session, buyer.id, "consumption_data", source="in-app", evidence=APP)
    result = request(session, pki, clock, api, "c-1")
    assert result.outcome == "declined: not consented"
    assert store.consumption == {} and store.calls("api") == 0
    details = session.scalar(
        select(AuditEvent.details).where(AuditEvent.action == "purchase.consumption_declined")
    )
    assert details == {
        "transaction_id": TX,
        "reason": "not consented",
        "missing": ["cross_border:app_store", "provide:app_store"],
    }


def test_with_consent_the_ledger_figures_are_sent_once(
    session: Session,
    clock: FixedClock,
    pki: StorePki,
    api: ServerApiClient,
    store: AppleStoreFake,
    buyer: User,
) -> None:
    for kind in NEEDED:
        consents.grant(session, buyer.id, kind, source="in-app", evidence=APP)
    ledger.consume(session, buyer.id, 30, key="spend", reference="t", reason="video", clock=clock)
    result = request(session, pki, clock, api, "c-2")
    assert result.outcome == "consumption sent: 30% used"
    assert store.consumption == {
        TX: {
            "customerConsented": True,
            "sampleContentProvided": False,
            "deliveryStatus": "DELIVERED",
            "consumptionPercentage": 30000,
        }
    }
    again = request(session, pki, clock, api, "c-2")
    assert again.duplicate and store.calls("api") == 1


def test_a_transaction_not_credited_here_is_declined(
    session: Session, clock: FixedClock, pki: StorePki, api: ServerApiClient, store: AppleStoreFake
) -> None:
    result = request(session, pki, clock, api, "c-3", transaction_id="2000000000000999")
    assert result.outcome == "declined: not credited here"
    assert store.calls("api") == 0


def test_the_fake_refuses_a_body_without_customer_consent(
    api: ServerApiClient, store: AppleStoreFake
) -> None:
    body = {
        "customerConsented": False,
        "sampleContentProvided": False,
        "deliveryStatus": "DELIVERED",
    }
    with pytest.raises(InvalidInput, match="Invalid customer consent"):
        api.send_consumption_information(TX, body)
    with pytest.raises(InvalidInput, match="not an App Store transaction id"):
        api.send_consumption_information("abc", {**body, "customerConsented": True})
    assert store.consumption == {}


APP = consents.Evidence(app_version="2.3.0", request_id="consent-sheet")
