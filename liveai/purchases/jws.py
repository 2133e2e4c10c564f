"""Verify Apple-signed JWS (StoreKit 2 transactions, Server Notifications V2).

The algorithm of Apple's app-store-server-library: ES256 only; an x5c header of exactly
three certificates whose leaf is issued by the intermediate and the intermediate by the
pinned root (x5c[2] itself is never trusted); the intermediate a CA allowed to sign
certificates, the root's path length allowing it, the leaf no CA; Apple's marker OIDs on
both; validity at `now`; then the signature with the leaf's key.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from liveai.errors import AuthError, InvalidInput

LEAF_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.11.1")
INTERMEDIATE_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.2.1")
ALGORITHM = "ES256"


def _b64url_json(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"the signed {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"the signed {what} is not a JSON object")
    return value


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = token.strip().split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise InvalidInput(
            "not a JWS: expected header.payload.signature",
            hint="pass the whole signed transaction or signedPayload, untruncated",
        )
    return _b64url_json(parts[0], "header"), _b64url_json(parts[1], "payload")


def _chain(header: dict[str, Any]) -> list[x509.Certificate]:
    if header.get("alg") != ALGORITHM:
        raise AuthError(f"signature algorithm {header.get('alg')!r} refused: only ES256")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or len(x5c) != 3 or not all(isinstance(c, str) for c in x5c):
        raise AuthError("the JWS header has no x5c chain of exactly 3 certificates")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c]
    except (binascii.Error, ValueError):
        raise AuthError("the JWS x5c chain holds a certificate that cannot be read") from None


def _check_issued(child: x509.Certificate, parent: x509.Certificate, what: str) -> None:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        raise AuthError(f"the {what} certificate does not chain to the trusted root") from None


def _check_marker(cert: x509.Certificate, oid: x509.ObjectIdentifier, what: str) -> None:
    try:
        cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        raise AuthError(
            f"the {what} certificate lacks Apple's marker OID {oid.dotted_string}"
        ) from None


def _check_validity(cert: x509.Certificate, now: datetime, what: str) -> None:
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise AuthError(
            f"the {what} certificate is not valid at {now.isoformat()} "
            f"(valid {cert.not_valid_before_utc.isoformat()} to "
            f"{cert.not_valid_after_utc.isoformat()})"
        )


def _constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def _check_ca(cert: x509.Certificate) -> None:
    """The intermediate: a CA whose key usage lets it sign certificates."""
    constraints = _constraints(cert)
    if constraints is None or not constraints.ca:
        raise AuthError("the intermediate certificate is not a certificate authority")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.key_cert_sign:
        raise AuthError(
            "the intermediate certificate's key usage says it may not sign certificates"
        )


def _check_path(leaf: x509.Certificate, root: x509.Certificate) -> None:
    """The root must allow one CA below it; the leaf must be no CA at all."""
    length = getattr(_constraints(root), "path_length", None)
    if length is not None and length < 1:
        raise AuthError("the root's path length allows no intermediate certificate")
    leaf_constraints = _constraints(leaf)
    if leaf_constraints is not None and leaf_constraints.ca:
        raise AuthError("the leaf certificate is a certificate authority, not a signing key")


def verify_chain(chain: list[x509.Certificate], root: x509.Certificate, now: datetime) -> None:
    leaf, intermediate = chain[0], chain[1]
    _check_ca(intermediate)
    _check_path(leaf, root)
    _check_issued(leaf, intermediate, "leaf")
    _check_issued(intermediate, root, "intermediate")
    _check_marker(leaf, LEAF_OID, "leaf")
    _check_marker(intermediate, INTERMEDIATE_OID, "intermediate")
    for cert, what in ((leaf, "leaf"), (intermediate, "intermediate"), (root, "root")):
        _check_validity(cert, now, what)


def verify_jws(token: str, *, root: x509.Certificate, now: datetime) -> dict[str, Any]:
    """The verified payload of an Apple JWS; AuthError (or InvalidInput) says why not."""
    if not isinstance(token, str) or not token.strip():
        raise InvalidInput("the signed data is empty")
    header, _ = _split(token)
    chain = _chain(header)
    if not token.strip().rsplit(".", 1)[1]:
        raise AuthError("the JWS has no signature")
    verify_chain(chain, root, now)
    try:
        key: Any = chain[0].public_key()
        raw = jwt.PyJWS().decode(token.strip(), key, algorithms=[ALGORITHM])
    except jwt.InvalidSignatureError:
        raise AuthError("the JWS signature does not match its payload (tampered?)") from None
    except jwt.PyJWTError as exc:
        raise AuthError(f"the JWS cannot be verified: {exc}") from None
    payload = json.loads(raw)
    if not isinstance(payload, dict):
        raise InvalidInput("the signed payload is not a JSON object")
    return payload
