from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from liveai.clock import SYSTEM_CLOCK
from liveai.errors import AuthError, ConfigError, InvalidInput, NotFound, UpstreamError
from liveai.purchases.operations import lookup_transaction
from liveai.purchases.server_api import ServerApiClient, load_private_key
from liveai.settings import load_settings
from tests.fakes.apple_store import AppleStoreFake
from tests.purchases.helpers import BUNDLE, StorePki, transaction_payload

KEY = ec.generate_private_key(ec.SECP256R1())
PEM = KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@pytest.fixture
def store() -> Iterator[AppleStoreFake]:
    fake = AppleStoreFake().start()
    fake.api_key = KEY.public_key()
    fake.api_bundle_id = BUNDLE
    yield fake
    fake.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=1.0) as client:
        yield client


def api(
    store: AppleStoreFake, http: httpx.Client, key: ec.EllipticCurvePrivateKey = KEY
) -> ServerApiClient:
    return ServerApiClient(
        http,
        base_url=store.api_url,
        key_id="KEY123",
        issuer_id="57246542-96fe-1a63-e053-0824d011072a",
        private_key=key,
        bundle_id=BUNDLE,
        clock=SYSTEM_CLOCK,
        sleep=lambda _s: None,
    )


def test_auth_token_carries_the_documented_claims(
    store: AppleStoreFake, http: httpx.Client
) -> None:
    token = api(store, http).auth_token()
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": "KEY123", "typ": "JWT"}
    claims = jwt.decode(
        token,
        KEY.public_key(),
        algorithms=["ES256"],
        audience="appstoreconnect-v1",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["bid"] == BUNDLE and claims["exp"] - claims["iat"] == 300


def test_get_transaction_info(store: AppleStoreFake, http: httpx.Client) -> None:
    store.transactions["77"] = "signed-jws"
    assert api(store, http).get_transaction_info("77") == "signed-jws"
    assert store.requests[0][1] == "/api/inApps/v1/transactions/77"


def test_unknown_transaction_is_not_found(store: AppleStoreFake, http: httpx.Client) -> None:
    with pytest.raises(NotFound, match="4040010"):
        api(store, http).get_transaction_info("404")


def test_rate_limit_and_retryable_errors_are_retried(
    store: AppleStoreFake, http: httpx.Client
) -> None:
    store.transactions["77"] = "signed-jws"
    store.fail("api", ("api", 4290000, 429))
    store.fail("api", ("api", 5000001, 500))
    assert api(store, http).get_transaction_info("77") == "signed-jws"
    assert store.calls("api") == 3


def test_persistent_5xx_is_upstream(store: AppleStoreFake, http: httpx.Client) -> None:
    store.fail("api", ("http", 503), times=3)
    with pytest.raises(UpstreamError, match="503"):
        api(store, http).get_transaction_info("77")


def test_malformed_answer_is_retried(store: AppleStoreFake, http: httpx.Client) -> None:
    store.transactions["77"] = "signed-jws"
    store.fail("api", "malformed")
    assert api(store, http).get_transaction_info("77") == "signed-jws"


def test_a_token_from_another_key_is_refused(store: AppleStoreFake, http: httpx.Client) -> None:
    with pytest.raises(AuthError, match="401"):
        api(store, http, ec.generate_private_key(ec.SECP256R1())).get_transaction_info("77")


def test_a_bad_transaction_id_is_refused_before_any_request(
    store: AppleStoreFake, http: httpx.Client
) -> None:
    with pytest.raises(InvalidInput):
        api(store, http).get_transaction_info("../etc")
    assert store.requests == []


def test_private_key_from_text_or_file(tmp_path: Path) -> None:
    path = tmp_path / "AuthKey.p8"
    path.write_text(PEM)
    assert load_private_key(str(path)).public_key() == KEY.public_key()
    assert load_private_key(PEM).public_key() == KEY.public_key()
    with pytest.raises(ConfigError, match="not a PEM private key"):
        load_private_key("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")


def test_lookup_falls_back_to_the_sandbox_and_verifies(
    store: AppleStoreFake, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = StorePki()
    sandbox = AppleStoreFake().start()
    try:
        sandbox.api_key, sandbox.api_bundle_id = KEY.public_key(), BUNDLE
        sandbox.transactions["88"] = pki.sign(transaction_payload("88", environment="Sandbox"))
        for name, value in {
            "BUNDLE_ID": BUNDLE,
            "API_URL": store.api_url,
            "API_SANDBOX_URL": sandbox.api_url,
            "API_KEY_ID": "KEY123",
            "API_ISSUER_ID": "issuer",
            "API_PRIVATE_KEY": PEM,
            "ALLOW_SANDBOX": "1",
        }.items():
            monkeypatch.setenv(f"LIVEAI_APPLE_{name}", value)
        found = lookup_transaction(
            load_settings(), pki.config(), "88", http=http, clock=SYSTEM_CLOCK
        )
        assert (found["transactionId"], found["environment"]) == ("88", "Sandbox")
        assert (store.calls("api"), sandbox.calls("api")) == (1, 1)
        with pytest.raises(NotFound):
            lookup_transaction(load_settings(), pki.config(), "89", http=http, clock=SYSTEM_CLOCK)
    finally:
        sandbox.stop()


def test_lookup_without_api_settings_names_them(http: httpx.Client) -> None:
    with pytest.raises(ConfigError, match="LIVEAI_APPLE_API_KEY_ID"):
        lookup_transaction(load_settings(), StorePki().config(), "1", http=http, clock=SYSTEM_CLOCK)
