"""Test keys and tokens for the identity tests: every key is generated here."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from liveai.clock import FixedClock
from liveai.identity.tokens import APPLE_ISSUER, TokenVerifier, verifier_from_settings
from liveai.settings import Settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
AUDIENCE = "https://api.live.ai"
BUNDLE_ID = "ai.live.app"
SERVICES_ID = "ai.live.web"


@dataclass(frozen=True)
class Key:
    kid: str
    alg: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def jwk(self, *, with_alg: bool = False) -> dict[str, Any]:
        public = self.private.public_key()
        data = (
            RSAAlgorithm.to_jwk(public, as_dict=True)
            if isinstance(public, rsa.RSAPublicKey)
            else ECAlgorithm.to_jwk(public, as_dict=True)
        )
        data["kid"] = self.kid
        if with_alg:
            data.update(alg=self.alg, use="sig")
        return data

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **headers}
        )


@functools.cache
def _rsa(kid: str) -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _ec(kid: str, curve: str) -> Any:
    return ec.generate_private_key(ec.SECP384R1() if curve == "P-384" else ec.SECP256R1())


def logto_key(kid: str = "logto-1") -> Key:
    return Key(kid, "ES384", _ec(kid, "P-384"))


def apple_key(kid: str = "apple-1") -> Key:
    return Key(kid, "RS256", _rsa(kid))


def p256_key(kid: str = "p256-1") -> Key:
    return Key(kid, "ES256", _ec(kid, "P-256"))


def ts(at: datetime) -> int:
    return int(at.timestamp())


def logto_claims(issuer: str, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "jti": "jti-1",
        "sub": "u_logto1",
        "iat": ts(NOW - timedelta(minutes=1)),
        "exp": ts(NOW + timedelta(hours=1)),
        "scope": "credits:read credits:spend",
        "client_id": "native-app",
        "iss": issuer,
        "aud": AUDIENCE,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def apple_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": APPLE_ISSUER,
        "aud": BUNDLE_ID,
        "exp": ts(NOW + timedelta(minutes=10)),
        "iat": ts(NOW - timedelta(minutes=1)),
        "sub": "000851.abcdef.0747",
        "email": "x8sq@privaterelay.appleid.com",
        "email_verified": "true",
        "is_private_email": True,
        "auth_time": ts(NOW),
        "nonce_supported": True,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def identity_settings(logto_url: str, apple_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "logto_issuer": f"{logto_url}/oidc",
        "logto_audience": AUDIENCE,
        "apple_jwks_url": f"{apple_url}/auth/keys",
        "apple_audiences": f"{BUNDLE_ID}, {SERVICES_ID}",
        "siwa_url": apple_url,
    }
    values.update(extra)
    return Settings(**values)


def make_verifier(settings: Settings, http: Any, clock: FixedClock | None = None) -> TokenVerifier:
    return verifier_from_settings(settings, http=http, clock=clock or FixedClock(NOW))
