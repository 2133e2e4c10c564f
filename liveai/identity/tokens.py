"""Verify Logto access tokens and Sign in with Apple identity tokens; bind them to users.

`authenticate(session, token, verifier=...)` is the one entry point every user-data
access goes through: it verifies the token and returns the bound user with the claims.
Every rejection raises AuthError naming the specific reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import AuthError, ConfigError, Conflict, UpstreamError
from liveai.identity.jwks import KeySet, require_https
from liveai.models import Identity, User, UserStatus
from liveai.settings import Settings
from liveai.text import refuse_control
from liveai.users import create_user, find_identity, get_user

APPLE_ISSUER = "https://appleid.apple.com"
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub"]
_DECODE_OPTIONS: Any = {
    "verify_exp": False,  # checked against the injected clock below
    "verify_nbf": False,
    "verify_iat": False,
    "require": REQUIRED_CLAIMS,
}


@dataclass(frozen=True)
class IssuerPolicy:
    """What a token from one issuer must satisfy."""

    provider: str  # "logto" or "apple"
    issuer: str
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...]
    keys: KeySet
    # Who may have asked for the token (azp / client_id); ``party_setting`` configures them.
    parties: tuple[str, ...] = ()
    party_setting: str = ""


@dataclass(frozen=True)
class VerifiedToken:
    provider: str
    issuer: str
    subject: str
    claims: Mapping[str, Any]
    scopes: frozenset[str] = frozenset()
    email: str | None = None
    email_verified: bool | None = None
    is_private_email: bool | None = None

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.claims["exp"], UTC)


@dataclass(frozen=True)
class Principal:
    """The authenticated user and the verified token that proved it."""

    user: User
    token: VerifiedToken
    created: bool = False

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    def require_scope(self, scope: str) -> None:
        if scope not in self.token.scopes:
            raise AuthError(f"the token lacks the scope {scope!r}", hint="request it at sign-in")


class TokenVerifier:
    """Verifies compact JWS tokens against a fixed set of issuer policies."""

    def __init__(
        self,
        policies: Sequence[IssuerPolicy],
        *,
        clock: Clock = SYSTEM_CLOCK,
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        if not policies:
            raise ConfigError("no token issuer is configured", hint=_CONFIG_HINT)
        self.policies = {p.issuer: p for p in policies}
        self._clock = clock
        self._leeway = leeway.total_seconds()

    def verify(self, token: str, *, nonce: str | None = None) -> VerifiedToken:
        header, unverified = _split(token)
        alg = _check_alg(header)
        policy = self._policy_for(unverified.get("iss"))
        if alg not in policy.algorithms:
            allowed = ", ".join(policy.algorithms)
            raise AuthError(f"algorithm {alg} is not allowed for {policy.provider} ({allowed})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("malformed token: the header has no key id (kid)")
        key = policy.keys.key(kid)
        if key.algorithm_name != alg:
            raise AuthError(f"key {kid!r} is an {key.algorithm_name} key, the token says {alg}")
        claims = _decode(token, key.key, alg, policy)
        self._check_times(claims)
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip():
            raise AuthError("missing sub: the token names no subject")
        _check_party(claims, policy)
        if nonce is not None:
            _check_nonce(claims, nonce)
        elif "nonce" in claims:
            raise AuthError(
                "nonce not checked: the token was issued for a request with a nonce",
                hint="pass the nonce the app sent with the sign-in (--nonce)",
            )
        return _verified(policy, subject, claims)

    def _policy_for(self, issuer: Any) -> IssuerPolicy:
        policy = self.policies.get(issuer) if isinstance(issuer, str) else None
        if policy is None:
            expected = ", ".join(sorted(self.policies))
            raise AuthError(f"wrong issuer {issuer!r}: expected {expected}")
        return policy

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock.now().timestamp()
        exp = _number(claims, "exp")
        if now > exp + self._leeway:
            raise AuthError(f"expired at {_iso(exp)}", hint="sign in again for a fresh token")
        nbf = _number(claims, "nbf") if "nbf" in claims else None
        if nbf is not None and now + self._leeway < nbf:
            raise AuthError(f"not yet valid: nbf is {_iso(nbf)}")
        iat = _number(claims, "iat")
        if now + self._leeway < iat:
            raise AuthError(f"not yet valid: issued in the future at {_iso(iat)}")


_CONFIG_HINT = "set LIVEAI_LOGTO_ISSUER and LIVEAI_LOGTO_AUDIENCE, and/or LIVEAI_APPLE_AUDIENCES"


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified: only to pick the policy and key (PyJWT re-parses)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise AuthError("malformed token: not a compact JWS (three dot-separated parts)")
    return _segment(parts[0], "header"), _segment(parts[1], "payload")


def _segment(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (ValueError, TypeError):
        raise AuthError(f"malformed token: the {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise AuthError(f"malformed token: the {what} is not a JSON object")
    return value


def _check_alg(header: Mapping[str, Any]) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise AuthError("malformed token: the header names no algorithm")
    if alg.lower() == "none":
        raise AuthError("alg none: unsigned tokens are never accepted")
    if alg.upper().startswith("HS"):
        raise AuthError(
            f"HMAC algorithm {alg}: symmetric tokens (e.g. signed with a public key) are "
            "never accepted"
        )
    return alg


def _decode(token: str, key: Any, alg: str, policy: IssuerPolicy) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=list(policy.audiences),
            issuer=policy.issuer,
            options=_DECODE_OPTIONS,
        )
    except jwt.InvalidSignatureError:
        raise AuthError("bad signature") from None
    except jwt.InvalidAudienceError:
        raise AuthError(f"wrong audience for {policy.provider}") from None
    except jwt.InvalidIssuerError:
        raise AuthError(f"wrong issuer: expected {policy.issuer}") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"missing {exc.claim}: the token lacks a required claim") from None
    except jwt.DecodeError as exc:
        raise AuthError(f"malformed token: {exc}") from None
    except (jwt.InvalidTokenError, jwt.PyJWKError) as exc:
        raise AuthError(f"invalid token: {exc}") from None


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"malformed token: {name} is not a number")
    return float(value)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _check_party(claims: Mapping[str, Any], policy: IssuerPolicy) -> None:
    """A token for several audiences must name who asked for it (azp, or Logto's
    client_id), and that party must be ours; a party a single-audience token names must be
    ours too when ours are configured."""
    party = claims.get("azp", claims.get("client_id"))
    several = isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1
    if party is None:
        if several:
            raise AuthError("several audiences and no authorised party (azp) in the token")
        return
    if not policy.parties:
        if several:
            raise AuthError(
                f"a {policy.provider} token for several audiences cannot be checked",
                hint=f"set {policy.party_setting} to the client ids allowed to ask for tokens",
            )
        return
    if party not in policy.parties:
        raise AuthError(
            f"authorised party {party!r} is not ours for {policy.provider}",
            hint=f"allowed: {', '.join(policy.parties)} ({policy.party_setting})",
        )


def _check_nonce(claims: Mapping[str, Any], nonce: str) -> None:
    """Accept the raw nonce or its SHA-256 hex (the app sends the hash to Apple)."""
    claimed = claims.get("nonce")
    if not isinstance(claimed, str):
        raise AuthError("nonce missing: the token carries no nonce")
    hashed = hashlib.sha256(nonce.encode()).hexdigest()
    if not (hmac.compare_digest(claimed, nonce) or hmac.compare_digest(claimed, hashed)):
        raise AuthError("nonce mismatch: the token was issued for another request")


def _flag(value: Any) -> bool | None:
    """Apple sends booleans as JSON booleans or as the strings "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _verified(policy: IssuerPolicy, subject: str, claims: dict[str, Any]) -> VerifiedToken:
    scope = claims.get("scope")
    email = claims.get("email")
    return VerifiedToken(
        provider=policy.provider,
        issuer=policy.issuer,
        subject=subject,
        claims=claims,
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        email=email if isinstance(email, str) and email else None,
        email_verified=_flag(claims.get("email_verified")),
        is_private_email=_flag(claims.get("is_private_email")),
    )


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def verifier_from_settings(
    settings: Settings, *, http: httpx.Client, clock: Clock = SYSTEM_CLOCK
) -> TokenVerifier:
    """A verifier for every issuer the settings configure (Logto, Apple, or both)."""
    policies: list[IssuerPolicy] = []
    if settings.logto_issuer or settings.logto_audience:
        if not (settings.logto_issuer and settings.logto_audience):
            raise ConfigError("Logto needs both an issuer and an audience", hint=_CONFIG_HINT)
        issuer = require_https(settings.logto_issuer, what="Logto issuer")
        keys = _key_set(f"{issuer}/jwks", "logto", settings, http, clock)
        algorithms = _csv(settings.logto_algorithms)
        policies.append(
            IssuerPolicy(
                "logto",
                issuer,
                (settings.logto_audience,),
                algorithms,
                keys,
                parties=_csv(settings.logto_client_ids),
                party_setting="LIVEAI_LOGTO_CLIENT_IDS",
            )
        )
    if _csv(settings.apple_audiences):
        keys = _key_set(settings.apple_jwks_url, "apple", settings, http, clock)
        audiences = _csv(settings.apple_audiences)
        policies.append(
            IssuerPolicy(
                "apple",
                APPLE_ISSUER,
                audiences,
                ("RS256",),
                keys,
                parties=audiences,
                party_setting="LIVEAI_APPLE_AUDIENCES",
            )
        )
    return TokenVerifier(
        policies, clock=clock, leeway=timedelta(seconds=settings.auth_leeway_seconds)
    )


def _key_set(url: str, name: str, settings: Settings, http: httpx.Client, clock: Clock) -> KeySet:
    return KeySet(
        url,
        http=http,
        name=name,
        clock=clock,
        refresh_after=timedelta(seconds=settings.jwks_refresh_seconds),
        max_age=timedelta(seconds=settings.jwks_max_age_seconds),
        refetch_interval=timedelta(seconds=settings.jwks_refetch_seconds),
    )


def authenticate(
    session: Session,
    token: str,
    *,
    verifier: TokenVerifier,
    nonce: str | None = None,
    create: bool = False,
    clock: Clock = SYSTEM_CLOCK,
) -> Principal:
    """Verify the token and return its user; create the user on first sign-in if asked."""
    verified = verifier.verify(token, nonce=nonce)
    identity = find_identity(session, verified.issuer, verified.subject)
    if identity is None:
        if not create:
            raise AuthError(
                f"no user is bound to this {verified.provider} subject",
                hint="sign in through the app first, or run `liveai auth bind TOKEN`",
            )
        return bind_verified(session, verified, clock=clock)
    user = identity.user
    _require_active(user)
    return Principal(user, verified)


def _require_active(user: User) -> None:
    """A restricted account (policy acceptance withdrawn) still signs in, to accept the
    policy again; nothing is processed for it meanwhile."""
    if user.status not in (UserStatus.ACTIVE, UserStatus.RESTRICTED):
        raise AuthError(f"the account {user.id} is {user.status.value.replace('_', ' ')}")


def bind(
    session: Session,
    token: str,
    *,
    verifier: TokenVerifier,
    user: str | uuid.UUID | None = None,
    nonce: str | None = None,
    display_name: str | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> Principal:
    """Verify the token and bind its (issuer, sub): to `user` if given, else a new user."""
    verified = verifier.verify(token, nonce=nonce)
    return bind_verified(
        session, verified, user=user, display_name=display_name, actor=actor, clock=clock
    )


def bind_verified(
    session: Session,
    verified: VerifiedToken,
    *,
    user: str | uuid.UUID | None = None,
    display_name: str | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> Principal:
    """Bind a verified token's identity; each (issuer, sub) belongs to exactly one user."""
    target = get_user(session, user) if user is not None else None
    identity = find_identity(session, verified.issuer, verified.subject)
    if identity is not None:
        if target is not None and identity.user_id != target.id:
            raise Conflict(f"this {verified.provider} subject is bound to another user")
        _require_active(identity.user)
        _keep_first_profile(identity.user, verified, display_name, clock)
        return Principal(identity.user, verified)
    if target is None:
        created = create_user(
            session,
            issuer=verified.issuer,
            subject=verified.subject,
            email=verified.email,
            display_name=display_name,
            actor=actor,
            clock=clock,
        )
        return Principal(created, verified, created=True)
    _require_active(target)
    _link(session, target, verified, actor=actor, clock=clock)
    _keep_first_profile(target, verified, display_name, clock)
    return Principal(target, verified)


def _link(
    session: Session, user: User, verified: VerifiedToken, *, actor: str, clock: Clock
) -> None:
    user.identities.append(
        Identity(issuer=verified.issuer, subject=verified.subject, created_at=clock.now())
    )
    session.flush()
    audit.record(
        session,
        "identity.linked",
        user_id=user.id,
        details={"provider": verified.provider},
        actor=actor,
        clock=clock,
    )


def _keep_first_profile(
    user: User, verified: VerifiedToken, display_name: str | None, clock: Clock
) -> None:
    """Fill an empty email or name; never overwrite what the first sign-in gave."""
    changed = False
    if user.email is None and verified.email is not None:
        user.email = verified.email
        changed = True
    if user.display_name is None and display_name and display_name.strip():
        user.display_name = refuse_control(display_name.strip()[:200], what="display name")
        changed = True
    if changed:
        user.updated_at = clock.now()


def token_to_dict(verified: VerifiedToken) -> dict[str, Any]:
    return {
        "provider": verified.provider,
        "issuer": verified.issuer,
        "subject": verified.subject,
        "scopes": sorted(verified.scopes),
        "email": verified.email,
        "email_verified": verified.email_verified,
        "is_private_email": verified.is_private_email,
        "expires_at": verified.expires_at.isoformat(),
        "claims": dict(verified.claims),
    }


def probe_key_sets(settings: Settings, *, http: httpx.Client) -> list[tuple[str, bool, str]]:
    """For `liveai doctor`: fetch each configured key set; (name, ok, detail) per issuer."""
    try:
        verifier = verifier_from_settings(settings, http=http)
    except ConfigError as exc:
        if not (settings.logto_issuer or settings.logto_audience or settings.apple_audiences):
            return []
        return [("identity", False, str(exc))]
    results: list[tuple[str, bool, str]] = []
    for policy in verifier.policies.values():
        try:
            count = policy.keys.refresh()
        except (UpstreamError, ConfigError) as exc:
            results.append((policy.provider, False, str(exc)))
        else:
            results.append((policy.provider, True, f"{count} keys at {policy.keys.url}"))
    return results
