"""Sign in with Apple, server side: code exchange, the encrypted refresh token, revocation.

Apple's /auth/token and /auth/revoke authenticate us with a `client_secret`: an ES256 JWT
signed with the Sign in with Apple .p8 key, valid at most six months. The refresh token
from the code exchange is what account deletion revokes (App Store guideline 5.1.1(v)).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import AuthError, ConfigError, UpstreamError
from liveai.identity.cipher import TokenCipher
from liveai.identity.jwks import require_https
from liveai.identity.tokens import APPLE_ISSUER, TokenVerifier, bind_verified
from liveai.keys import load_p8, p8_text
from liveai.models import AppleCredential
from liveai.settings import Settings
from liveai.users import get_user

MAX_SECRET_LIFETIME = timedelta(seconds=15_777_000)
_CONFIG_HINT = "set LIVEAI_SIWA_TEAM_ID, LIVEAI_SIWA_KEY_ID and LIVEAI_SIWA_PRIVATE_KEY"


@dataclass(frozen=True)
class AppleClient:
    """Our Sign in with Apple registration: who signs the client_secret, for which client."""

    team_id: str
    key_id: str
    client_id: str
    private_key: str = ""
    base_url: str = APPLE_ISSUER

    def __post_init__(self) -> None:
        require_https(self.base_url, what="Sign in with Apple URL")

    @classmethod
    def from_settings(cls, settings: Settings) -> AppleClient:
        audiences = [a.strip() for a in settings.apple_audiences.split(",") if a.strip()]
        client_id = settings.siwa_client_id or (audiences[0] if audiences else None)
        values = {
            "LIVEAI_SIWA_TEAM_ID": settings.siwa_team_id,
            "LIVEAI_SIWA_KEY_ID": settings.siwa_key_id,
            "LIVEAI_SIWA_CLIENT_ID or LIVEAI_APPLE_AUDIENCES": client_id,
            "LIVEAI_SIWA_PRIVATE_KEY": settings.siwa_private_key,
        }
        missing = [name for name, value in values.items() if not value]
        if missing or settings.siwa_private_key is None:
            raise ConfigError(f"Sign in with Apple is not configured: {', '.join(missing)}")
        return cls(
            team_id=str(settings.siwa_team_id),
            key_id=str(settings.siwa_key_id),
            client_id=str(client_id),
            private_key=_load_key_text(settings.siwa_private_key.get_secret_value()),
            base_url=settings.siwa_url.rstrip("/"),
        )


def _load_key_text(value: str) -> str:
    """The key's PEM text, checked to be a P-256 private key."""
    setting = "LIVEAI_SIWA_PRIVATE_KEY"
    text = p8_text(value, setting=setting, hint=_CONFIG_HINT)
    load_p8(text, setting=setting, hint=_CONFIG_HINT)
    return text


def cipher_from_settings(settings: Settings) -> TokenCipher:
    keys = settings.siwa_token_keys.get_secret_value() if settings.siwa_token_keys else ""
    return TokenCipher.from_csv(keys)


def client_secret(
    client: AppleClient,
    *,
    client_id: str | None = None,
    lifetime: timedelta = timedelta(minutes=5),
    clock: Clock = SYSTEM_CLOCK,
) -> str:
    """The ES256 client_secret JWT; Apple refuses lifetimes beyond six months."""
    if not timedelta(0) < lifetime <= MAX_SECRET_LIFETIME:
        raise ConfigError(f"a client_secret lifetime must be 1 s to 6 months, got {lifetime}")
    now = int(clock.now().timestamp())
    claims = {
        "iss": client.team_id,
        "iat": now,
        "exp": now + int(lifetime.total_seconds()),
        "aud": APPLE_ISSUER,
        "sub": client_id or client.client_id,
    }
    try:
        return jwt.encode(
            claims, client.private_key, algorithm="ES256", headers={"kid": client.key_id}
        )
    except (ValueError, TypeError, jwt.PyJWTError):
        raise ConfigError(
            "the Sign in with Apple key is not a P-256 private key in PEM (.p8) form",
            hint=_CONFIG_HINT,
        ) from None


def exchange_code(
    session: Session,
    user: str | uuid.UUID,
    code: str,
    *,
    client: AppleClient,
    http: httpx.Client,
    cipher: TokenCipher,
    verifier: TokenVerifier | None = None,
    redirect_uri: str | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> AppleCredential:
    """Exchange an authorization code; store the refresh token encrypted for the user.

    With a verifier, the returned id_token is verified and its Apple subject bound to the
    user, so a code from another Apple account is refused.
    """
    owner = get_user(session, user)
    if not code.strip():
        raise AuthError("the authorization code is empty")
    form = {
        "client_id": client.client_id,
        "client_secret": client_secret(client, clock=clock),
        "code": code.strip(),
        "grant_type": "authorization_code",
    }
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    body = _post(http, f"{client.base_url}/auth/token", form)
    refresh_token = body.get("refresh_token") if isinstance(body, dict) else None
    if not isinstance(refresh_token, str) or not refresh_token:
        raise UpstreamError("Apple's token response has no refresh_token")
    if verifier is not None:
        _bind_id_token(session, owner.id, body.get("id_token"), verifier, actor, clock)
    credential = _store(session, owner.id, client.client_id, cipher.encrypt(refresh_token), clock)
    audit.record(
        session,
        "apple.token_stored",
        user_id=owner.id,
        details={"credential_id": credential.id},
        actor=actor,
        clock=clock,
    )
    return credential


def _bind_id_token(
    session: Session,
    user_id: uuid.UUID,
    id_token: Any,
    verifier: TokenVerifier,
    actor: str,
    clock: Clock,
) -> None:
    if not isinstance(id_token, str):
        raise UpstreamError("Apple's token response has no id_token")
    verified = verifier.verify(id_token)
    if verified.provider != "apple":
        raise AuthError("the id_token in Apple's response is not from Apple")
    bind_verified(session, verified, user=user_id, actor=actor, clock=clock)


def _store(
    session: Session, user_id: uuid.UUID, client_id: str, sealed: str, clock: Clock
) -> AppleCredential:
    now = clock.now()
    credential = session.scalar(
        select(AppleCredential).where(
            AppleCredential.user_id == user_id, AppleCredential.client_id == client_id
        )
    )
    if credential is None:
        credential = AppleCredential(
            user_id=user_id,
            client_id=client_id,
            created_at=now,
            updated_at=now,
            refresh_token_encrypted=sealed,
        )
        session.add(credential)
    else:
        credential.refresh_token_encrypted = sealed
        credential.updated_at = now
    session.flush()
    return credential


def credentials_of(session: Session, user_id: uuid.UUID) -> list[AppleCredential]:
    query = select(AppleCredential).where(AppleCredential.user_id == user_id)
    return list(session.scalars(query.order_by(AppleCredential.id)))


def revoke_tokens(
    session: Session,
    user: str | uuid.UUID,
    *,
    client: AppleClient,
    http: httpx.Client,
    cipher: TokenCipher,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> int:
    """Revoke and forget every stored refresh token of the user; return how many.

    0 means we hold none: the user must revoke in iOS Settings (TN3194). Apple answers 200
    for tokens that are already invalid, so repeating a revocation is safe.
    """
    owner = get_user(session, user)
    credentials = credentials_of(session, owner.id)
    for credential in credentials:
        form = {
            "client_id": credential.client_id,
            "client_secret": client_secret(client, client_id=credential.client_id, clock=clock),
            "token": cipher.decrypt(credential.refresh_token_encrypted),
            "token_type_hint": "refresh_token",
        }
        _post(http, f"{client.base_url}/auth/revoke", form, expect_json=False)
        session.delete(credential)
    session.flush()
    audit.record(
        session,
        "apple.tokens_revoked",
        user_id=owner.id,
        details={"count": len(credentials)},
        actor=actor,
        clock=clock,
    )
    return len(credentials)


def _post(http: httpx.Client, url: str, form: dict[str, str], *, expect_json: bool = True) -> Any:
    try:
        response = http.post(url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise UpstreamError(
            f"Apple is unreachable at {url}: {type(exc).__name__}", hint="retry later"
        ) from None
    if response.status_code == 200:
        return _json(response) if expect_json else None
    raise _error_for(response)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UpstreamError("Apple answered with a body that is not JSON") from None


def _error_for(response: httpx.Response) -> Exception:
    status = response.status_code
    code = None
    if status == 400:
        try:
            body = response.json()
            code = body.get("error") if isinstance(body, dict) else None
        except ValueError:
            code = None
    if code == "invalid_grant":
        return AuthError(
            "Apple refused the authorization code (invalid_grant)",
            hint="codes are single-use and valid 5 minutes; ask the app for a new one",
        )
    if code == "invalid_client":
        return UpstreamError(
            "Apple refused our client credentials (invalid_client)",
            hint="check the team id, key id, client id and .p8 key",
        )
    if code:
        return UpstreamError(f"Apple refused the request ({code})")
    return UpstreamError(f"Apple answered HTTP {status}", hint="retry later")


def rotate_token_key(
    session: Session, cipher: TokenCipher, *, actor: str = "system", clock: Clock = SYSTEM_CLOCK
) -> int:
    """Re-encrypt every stored refresh token under the cipher's newest key, in the caller's
    transaction (all or none), so older keys can be retired; how many were rewritten."""
    now = clock.now()
    rotated = 0
    for credential in session.scalars(select(AppleCredential).order_by(AppleCredential.id)):
        credential.refresh_token_encrypted = cipher.rotate(credential.refresh_token_encrypted)
        credential.updated_at = now
        rotated += 1
    audit.record(
        session, "apple.tokens_rekeyed", details={"count": rotated}, actor=actor, clock=clock
    )
    return rotated
