from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from liveai.errors import AuthError, ConfigError, InvalidInput, UpstreamError
from liveai.purchases.receipts import VerifyReceiptClient
from tests.fakes.apple_store import AppleStoreFake
from tests.purchases.helpers import in_app, receipt_body

PROD = base64.b64encode(b"production receipt").decode()
SANDBOX = base64.b64encode(b"sandbox receipt").decode()


@pytest.fixture
def store() -> Iterator[AppleStoreFake]:
    fake = AppleStoreFake(shared_secret="s3cret").start()
    fake.add_receipt(PROD, "Production", receipt_body([in_app("1")]))
    fake.add_receipt(SANDBOX, "Sandbox", receipt_body([in_app("2")], environment="Sandbox"))
    yield fake
    fake.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=0.5) as client:
        yield client


def client(
    store: AppleStoreFake, http: httpx.Client, secret: str = "s3cret"
) -> VerifyReceiptClient:
    sleeps: list[float] = []
    made = VerifyReceiptClient(
        http,
        production_url=store.production_url,
        sandbox_url=store.sandbox_url,
        shared_secret=secret,
        sleep=sleeps.append,
    )
    made.sleeps = sleeps  # type: ignore[attr-defined]
    return made


def test_production_receipt_verifies_at_production_only(
    store: AppleStoreFake, http: httpx.Client
) -> None:
    verified = client(store, http).verify(PROD)
    assert verified.environment == "Production"
    assert [t["transaction_id"] for t in verified.transactions] == ["1"]
    assert (store.calls("production"), store.calls("sandbox")) == (1, 0)
    body = store.requests[0][2]
    assert body == {"receipt-data": PROD, "password": "s3cret", "exclude-old-transactions": True}


def test_21007_retries_against_the_sandbox(store: AppleStoreFake, http: httpx.Client) -> None:
    verified = client(store, http).verify(SANDBOX)
    assert verified.environment == "Sandbox"
    assert [r[0] for r in store.requests] == ["production", "sandbox"]


def test_21008_goes_back_to_production(store: AppleStoreFake, http: httpx.Client) -> None:
    """A staging deployment asks the sandbox first and is sent back by 21008."""
    verified = client(store, http).verify(PROD, first="Sandbox")
    assert verified.environment == "Production"
    assert [r[0] for r in store.requests] == ["sandbox", "production"]


def test_21005_is_retried_with_backoff(store: AppleStoreFake, http: httpx.Client) -> None:
    made = client(store, http)
    store.fail("production", 21005, times=2)
    assert made.verify(PROD).environment == "Production"
    assert store.calls("production") == 3
    assert made.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]


def test_21005_every_time_gives_up_as_upstream(store: AppleStoreFake, http: httpx.Client) -> None:
    store.fail("production", 21005, times=3)
    with pytest.raises(UpstreamError, match="21005: the receipt server is temporarily"):
        client(store, http).verify(PROD)
    assert store.calls("production") == 3


@pytest.mark.parametrize("fault", ["malformed", "statusless", ("http", 503), "hang"])
def test_broken_answers_are_retried(
    store: AppleStoreFake, http: httpx.Client, fault: str | tuple[str, int]
) -> None:
    store.fail("production", fault)
    assert client(store, http).verify(PROD).environment == "Production"
    assert store.calls("production") == 2


def test_malformed_every_time_is_an_upstream_error(
    store: AppleStoreFake, http: httpx.Client
) -> None:
    store.fail("production", "malformed", times=3)
    with pytest.raises(UpstreamError, match="not JSON"):
        client(store, http).verify(PROD)


def test_21002_for_a_receipt_apple_cannot_read(store: AppleStoreFake, http: httpx.Client) -> None:
    unknown = base64.b64encode(b"garbage").decode()
    with pytest.raises(InvalidInput, match="21002: the receipt data is malformed"):
        client(store, http).verify(unknown)
    assert store.calls("production") == 3  # 21002 may be temporary: limited retry


def test_21003_is_an_auth_error(store: AppleStoreFake, http: httpx.Client) -> None:
    store.fail("production", 21003)
    with pytest.raises(AuthError, match="21003: the receipt could not be authenticated"):
        client(store, http).verify(PROD)
    assert store.calls("production") == 1


def test_21004_is_a_config_error_naming_the_setting(
    store: AppleStoreFake, http: httpx.Client
) -> None:
    with pytest.raises(ConfigError, match="LIVEAI_APPLE_SHARED_SECRET"):
        client(store, http, secret="wrong").verify(PROD)


def test_21010_is_refused(store: AppleStoreFake, http: httpx.Client) -> None:
    store.fail("production", 21010)
    with pytest.raises(AuthError, match="21010: the user account cannot be found"):
        client(store, http).verify(PROD)


def test_211xx_retried_only_when_flagged(store: AppleStoreFake, http: httpx.Client) -> None:
    store.fail("production", 21150)
    assert client(store, http).verify(PROD).environment == "Production"
    assert store.calls("production") == 2


@pytest.mark.parametrize("receipt", ["not base64!", "   ", "abc"])
def test_not_base64_is_refused_without_a_request(
    store: AppleStoreFake, http: httpx.Client, receipt: str
) -> None:
    with pytest.raises(InvalidInput):
        client(store, http).verify(receipt)
    assert store.requests == []


def test_connection_refused_is_upstream_after_retries(http: httpx.Client) -> None:
    made = VerifyReceiptClient(
        http,
        production_url="http://127.0.0.1:9/verifyReceipt",
        sandbox_url="http://127.0.0.1:9/verifyReceipt",
        sleep=lambda _s: None,
    )
    with pytest.raises(UpstreamError, match="failed"):
        made.verify(PROD)


def test_outside_production_the_sandbox_is_asked_first(
    store: AppleStoreFake, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liveai.purchases.operations import verify_receipt
    from liveai.settings import load_settings

    monkeypatch.setenv("LIVEAI_ENVIRONMENT", "staging")
    monkeypatch.setenv("LIVEAI_APPLE_SHARED_SECRET", "s3cret")
    monkeypatch.setenv("LIVEAI_APPLE_VERIFY_RECEIPT_URL", store.production_url)
    monkeypatch.setenv("LIVEAI_APPLE_VERIFY_RECEIPT_SANDBOX_URL", store.sandbox_url)
    verified = verify_receipt(load_settings(), SANDBOX, http=http)
    assert verified.environment == "Sandbox"
    assert [r[0] for r in store.requests] == ["sandbox"]
