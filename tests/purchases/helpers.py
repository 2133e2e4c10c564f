"""A test App Store PKI (root -> intermediate -> leaf with Apple's marker OIDs) and JWS signing."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from liveai.purchases.catalog import StoreConfig
from liveai.purchases.jws import INTERMEDIATE_OID, LEAF_OID

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BUNDLE = "ai.live.app"
PRODUCTS = {"ai.live.credits100": 100, "ai.live.credits500": 500}


def key_usage(*allowed: str) -> x509.KeyUsage:
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{name: name in allowed for name in names})


CA_USAGE = key_usage("key_cert_sign", "crl_sign")  # as Apple's root and WWDR intermediates
SIGNING_USAGE = key_usage("digital_signature")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    marker: x509.ObjectIdentifier | None,
    not_before: datetime = NOW - timedelta(days=365),
    not_after: datetime = NOW + timedelta(days=365),
    path_length: int | None = None,
    usage: x509.KeyUsage | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(usage or (CA_USAGE if ca else SIGNING_USAGE), critical=True)
    )
    if marker is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(marker, b"\x05\x00"), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class StorePki:
    """A three-level chain like Apple's; `variant` makes the broken ones for the tests."""

    root_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)
    intermediate_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)
    leaf_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)
    leaf_marker: x509.ObjectIdentifier | None = LEAF_OID
    leaf_not_after: datetime = NOW + timedelta(days=365)

    def __post_init__(self) -> None:
        self.root = make_cert(
            "Test Root CA", self.root_key, "Test Root CA", self.root_key, ca=True, marker=None
        )
        self.intermediate = make_cert(
            "Test WWDR CA",
            self.intermediate_key,
            "Test Root CA",
            self.root_key,
            ca=True,
            marker=INTERMEDIATE_OID,
        )
        self.leaf = make_cert(
            "Test Receipt Signing",
            self.leaf_key,
            "Test WWDR CA",
            self.intermediate_key,
            ca=False,
            marker=self.leaf_marker,
            not_after=self.leaf_not_after,
        )

    def x5c(self) -> list[str]:
        return [
            base64.b64encode(c.public_bytes(Encoding.DER)).decode()
            for c in (self.leaf, self.intermediate, self.root)
        ]

    def root_pem(self) -> bytes:
        return self.root.public_bytes(Encoding.PEM)

    def sign(self, payload: dict[str, Any], **header: Any) -> str:
        headers: dict[str, Any] = {"x5c": self.x5c(), **header}
        return jwt.encode(payload, self.leaf_key, algorithm="ES256", headers=headers)

    def config(self, *, allow_sandbox: bool = True, app_apple_id: int | None = None) -> StoreConfig:
        return StoreConfig(
            bundle_id=BUNDLE,
            products=dict(PRODUCTS),
            allow_sandbox=allow_sandbox,
            app_apple_id=app_apple_id,
            trusted_root=self.root,
        )


def transaction_payload(transaction_id: str = "2000000000000001", **over: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "transactionId": transaction_id,
        "originalTransactionId": transaction_id,
        "bundleId": BUNDLE,
        "productId": "ai.live.credits100",
        "purchaseDate": 1764300000000,
        "quantity": 1,
        "type": "Consumable",
        "inAppOwnershipType": "PURCHASED",
        "signedDate": 1764300001000,
        "environment": "Production",
        "transactionReason": "PURCHASE",
        "storefront": "CHN",
        "price": 6000,
        "currency": "CNY",
    }
    payload.update(over)
    return payload


def notification_body(
    pki: StorePki,
    kind: str,
    *,
    uuid: str,
    transaction_id: str | None = "2000000000000001",
    environment: str = "Production",
    **data: Any,
) -> str:
    inner: dict[str, Any] = {
        "environment": environment,
        "appAppleId": 41234,
        "bundleId": BUNDLE,
        "bundleVersion": "1.0",
        **data,
    }
    if transaction_id is not None:
        tx = transaction_payload(transaction_id, environment=environment)
        inner["signedTransactionInfo"] = pki.sign(tx)
    payload = {
        "notificationType": kind,
        "notificationUUID": uuid,
        "version": "2.0",
        "signedDate": 1764310000000,
        "data": inner,
    }
    return json.dumps({"signedPayload": pki.sign(payload)})


def receipt_body(
    transactions: list[dict[str, Any]], *, bundle_id: str = BUNDLE, environment: str = "Production"
) -> dict[str, Any]:
    return {
        "status": 0,
        "environment": environment,
        "receipt": {
            "receipt_type": "Production" if environment == "Production" else "ProductionSandbox",
            "bundle_id": bundle_id,
            "application_version": "42",
            "in_app": transactions,
        },
    }


def in_app(
    transaction_id: str, product_id: str = "ai.live.credits100", **over: str
) -> dict[str, str]:
    entry = {
        "quantity": "1",
        "product_id": product_id,
        "transaction_id": transaction_id,
        "original_transaction_id": transaction_id,
        "purchase_date_ms": "1764300000000",
        "is_trial_period": "false",
    }
    entry.update(over)
    return entry
