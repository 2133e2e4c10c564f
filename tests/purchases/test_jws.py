from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from liveai.errors import AuthError, InvalidInput
from liveai.purchases.jws import INTERMEDIATE_OID, LEAF_OID, verify_jws
from liveai.purchases.transactions import from_signed_payload
from tests.purchases.helpers import NOW, StorePki, key_usage, make_cert, transaction_payload


def test_a_good_transaction_verifies_and_maps(pki: StorePki) -> None:
    payload = verify_jws(pki.sign(transaction_payload("77")), root=pki.root, now=NOW)
    tx = from_signed_payload(payload, pki.config())
    assert (tx.transaction_id, tx.product_id, tx.quantity) == ("77", "ai.live.credits100", 1)
    assert tx.environment == "Production" and not tx.revoked


def test_tampered_payload_is_refused(pki: StorePki) -> None:
    header, _, signature = pki.sign(transaction_payload()).split(".")
    forged = transaction_payload(productId="ai.live.credits500")
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(AuthError, match="tampered"):
        verify_jws(f"{header}.{body}.{signature}", root=pki.root, now=NOW)


def test_wrong_bundle_id_is_refused(pki: StorePki) -> None:
    payload = verify_jws(
        pki.sign(transaction_payload(bundleId="com.other.app")), root=pki.root, now=NOW
    )
    with pytest.raises(InvalidInput, match=r"com\.other\.app"):
        from_signed_payload(payload, pki.config())


def test_chain_to_another_root_is_refused(pki: StorePki) -> None:
    other = StorePki()
    with pytest.raises(AuthError, match="intermediate certificate does not chain"):
        verify_jws(other.sign(transaction_payload()), root=pki.root, now=NOW)


def test_x5c_root_is_never_trusted_itself(pki: StorePki) -> None:
    """An attacker's chain whose x5c[2] is our root but whose intermediate is not ours."""
    other = StorePki()
    x5c = other.x5c()
    x5c[2] = pki.x5c()[2]
    token = jwt.encode(
        transaction_payload(), other.leaf_key, algorithm="ES256", headers={"x5c": x5c}
    )
    with pytest.raises(AuthError, match="does not chain"):
        verify_jws(token, root=pki.root, now=NOW)


def test_missing_x5c_is_refused(pki: StorePki) -> None:
    token = jwt.encode(transaction_payload(), pki.leaf_key, algorithm="ES256")
    with pytest.raises(AuthError, match="x5c"):
        verify_jws(token, root=pki.root, now=NOW)
    short = jwt.encode(
        transaction_payload(), pki.leaf_key, algorithm="ES256", headers={"x5c": pki.x5c()[:2]}
    )
    with pytest.raises(AuthError, match="exactly 3"):
        verify_jws(short, root=pki.root, now=NOW)


@pytest.mark.parametrize("alg", ["HS256", "none"])
def test_wrong_algorithm_is_refused(pki: StorePki, alg: str) -> None:
    key = None if alg == "none" else "x" * 32
    # PyJWT's stubs want a key, but "none" must be given None
    token = jwt.encode(transaction_payload(), key, algorithm=alg, headers={"x5c": pki.x5c()})  # type: ignore[arg-type]
    with pytest.raises(AuthError, match="only ES256"):
        verify_jws(token, root=pki.root, now=NOW)


def test_expired_certificate_is_refused() -> None:
    pki = StorePki(leaf_not_after=NOW - timedelta(days=1))
    with pytest.raises(AuthError, match="leaf certificate is not valid"):
        verify_jws(pki.sign(transaction_payload()), root=pki.root, now=NOW)


def test_leaf_without_the_apple_oid_is_refused() -> None:
    pki = StorePki(leaf_marker=None)
    with pytest.raises(AuthError, match=r"leaf certificate lacks .*100\.6\.11\.1"):
        verify_jws(pki.sign(transaction_payload()), root=pki.root, now=NOW)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "abc", "a..c", ".e30.x"])
def test_truncated_or_malformed_jws_is_bad_input(pki: StorePki, token: str) -> None:
    with pytest.raises(InvalidInput):
        verify_jws(token, root=pki.root, now=NOW)


def test_signature_from_another_key_is_refused(pki: StorePki) -> None:
    other = StorePki()
    token = jwt.encode(
        transaction_payload(), other.leaf_key, algorithm="ES256", headers={"x5c": pki.x5c()}
    )
    with pytest.raises(AuthError, match="signature"):
        verify_jws(token, root=pki.root, now=NOW)


def test_sandbox_transaction_is_refused_in_production(pki: StorePki) -> None:
    payload = verify_jws(
        pki.sign(transaction_payload(environment="Sandbox")), root=pki.root, now=NOW
    )
    with pytest.raises(InvalidInput, match="LIVEAI_APPLE_ALLOW_SANDBOX"):
        from_signed_payload(payload, pki.config(allow_sandbox=False))
    assert from_signed_payload(payload, pki.config(allow_sandbox=True)).environment == "Sandbox"


def test_non_consumable_is_refused(pki: StorePki) -> None:
    payload = verify_jws(
        pki.sign(transaction_payload(type="Auto-Renewable Subscription")), root=pki.root, now=NOW
    )
    with pytest.raises(InvalidInput, match="not a consumable"):
        from_signed_payload(payload, pki.config())


def test_bundled_apple_root_is_apple_root_ca_g3() -> None:
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding

    from liveai.purchases.catalog import load_root
    from liveai.settings import load_settings

    root = load_root(load_settings())
    digest = hashlib.sha256(root.public_bytes(Encoding.DER)).hexdigest()
    assert digest == "63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179"
    with pytest.raises(AuthError, match="does not chain"):
        verify_jws(StorePki().sign(transaction_payload()), root=root, now=NOW)


def test_intermediate_that_is_not_a_ca_is_refused(pki: StorePki) -> None:
    """An end-entity certificate from our root, carrying the marker, posing as the intermediate."""
    posing = make_cert(
        "Posing WWDR",
        pki.intermediate_key,
        "Test Root CA",
        pki.root_key,
        ca=False,
        marker=INTERMEDIATE_OID,
    )
    x5c = pki.x5c()
    x5c[1] = base64.b64encode(posing.public_bytes(Encoding.DER)).decode()
    token = jwt.encode(transaction_payload(), pki.leaf_key, algorithm="ES256", headers={"x5c": x5c})
    with pytest.raises(AuthError, match="not a certificate authority"):
        verify_jws(token, root=pki.root, now=NOW)


def _with_intermediate(pki: StorePki, intermediate: x509.Certificate) -> str:
    x5c = pki.x5c()
    x5c[1] = base64.b64encode(intermediate.public_bytes(Encoding.DER)).decode()
    return jwt.encode(transaction_payload(), pki.leaf_key, algorithm="ES256", headers={"x5c": x5c})


def test_an_intermediate_that_may_not_sign_certificates_is_refused(pki: StorePki) -> None:
    """A CA certificate from our root whose key usage does not cover signing certificates."""
    for usage in (key_usage("digital_signature"), key_usage("crl_sign")):
        signing_only = make_cert(
            "Signing-only WWDR",
            pki.intermediate_key,
            "Test Root CA",
            pki.root_key,
            ca=True,
            marker=INTERMEDIATE_OID,
            usage=usage,
        )
        with pytest.raises(AuthError, match="may not sign certificates"):
            verify_jws(_with_intermediate(pki, signing_only), root=pki.root, now=NOW)


def test_a_root_whose_path_length_forbids_an_intermediate_is_refused() -> None:
    pki = StorePki()
    pki.root = make_cert(
        "Test Root CA",
        pki.root_key,
        "Test Root CA",
        pki.root_key,
        ca=True,
        marker=None,
        path_length=0,
    )
    with pytest.raises(AuthError, match="path length"):
        verify_jws(pki.sign(transaction_payload()), root=pki.root, now=NOW)


def test_a_leaf_that_is_a_ca_is_refused() -> None:
    pki = StorePki()
    pki.leaf = make_cert(
        "Test Receipt Signing",
        pki.leaf_key,
        "Test WWDR CA",
        pki.intermediate_key,
        ca=True,
        marker=LEAF_OID,
    )
    with pytest.raises(AuthError, match="leaf certificate is a certificate authority"):
        verify_jws(pki.sign(transaction_payload()), root=pki.root, now=NOW)
