"""authenticate() and binding: (issuer, sub) -> exactly one user, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai.errors import AuthError, Conflict
from liveai.identity.tokens import APPLE_ISSUER, TokenVerifier, authenticate, bind
from liveai.models import AuditEvent, Identity, User, UserStatus
from tests.fakes.identity_http import IdentityServer
from tests.fakes.logto import FakeLogto
from tests.identity.helpers import (
    apple_claims,
    apple_key,
    identity_settings,
    logto_claims,
    logto_key,
)
from tests.identity.helpers import make_verifier as _make_verifier


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeLogto, IdentityServer]]:
    apple = IdentityServer()
    apple.route("GET", "/auth/keys", "keys", apple.jwks_reply)
    apple.jwks = [apple_key().jwk(with_alg=True)]
    with FakeLogto() as logto, apple:
        logto.jwks = [logto_key().jwk()]
        yield logto, apple


@pytest.fixture
def verifier(servers: tuple[FakeLogto, IdentityServer]) -> Iterator[TokenVerifier]:
    logto, apple = servers
    with httpx.Client(timeout=2.0) as http:
        yield _make_verifier(identity_settings(logto.url, apple.url), http)


@pytest.fixture
def logto_token(servers: tuple[FakeLogto, IdentityServer]) -> str:
    return logto_key().sign(logto_claims(servers[0].issuer))


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_an_unbound_subject_is_refused_unless_creation_is_asked(
    session: Session, verifier: TokenVerifier, logto_token: str
) -> None:
    with pytest.raises(AuthError, match="no user is bound to this logto subject"):
        authenticate(session, logto_token, verifier=verifier)
    assert _count(session, User) == 0
    first = authenticate(session, logto_token, verifier=verifier, create=True)
    assert first.created and first.token.subject == "u_logto1"
    again = authenticate(session, logto_token, verifier=verifier, create=True)
    assert not again.created and again.user_id == first.user_id
    assert _count(session, User) == 1


def test_apple_sign_in_keeps_the_relay_email_and_first_name(
    session: Session, verifier: TokenVerifier
) -> None:
    token = apple_key().sign(apple_claims())
    created = bind(session, token, verifier=verifier, display_name="Ann")
    assert created.user.email == "x8sq@privaterelay.appleid.com"
    later = apple_key().sign(apple_claims(email=None))
    again = bind(session, later, verifier=verifier, display_name="Someone Else")
    assert again.user_id == created.user_id
    assert again.user.display_name == "Ann"
    assert again.user.email == "x8sq@privaterelay.appleid.com"


def test_the_apple_identifier_links_to_the_logto_user(
    session: Session, verifier: TokenVerifier, logto_token: str
) -> None:
    principal = authenticate(session, logto_token, verifier=verifier, create=True)
    apple_token = apple_key().sign(apple_claims())
    linked = bind(session, apple_token, verifier=verifier, user=principal.user_id)
    assert linked.user_id == principal.user_id and not linked.created
    issuers = sorted(i.issuer for i in session.scalars(select(Identity)))
    assert issuers == sorted([APPLE_ISSUER, principal.token.issuer])
    assert linked.user.email == "x8sq@privaterelay.appleid.com"
    assert authenticate(session, apple_token, verifier=verifier).user_id == principal.user_id
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["user.created", "identity.linked"]
    assert events[1].details == {"provider": "apple"}
    assert "000851" not in json.dumps([e.details for e in events])


def test_a_subject_bound_to_one_user_is_never_bound_to_another(
    session: Session, verifier: TokenVerifier, logto_token: str
) -> None:
    apple_token = apple_key().sign(apple_claims())
    owner = bind(session, apple_token, verifier=verifier)
    other = authenticate(session, logto_token, verifier=verifier, create=True)
    with pytest.raises(Conflict, match="bound to another user"):
        bind(session, apple_token, verifier=verifier, user=other.user_id)
    assert _count(session, Identity) == 2
    assert authenticate(session, apple_token, verifier=verifier).user_id == owner.user_id


def test_a_user_pending_deletion_cannot_authenticate(
    session: Session, verifier: TokenVerifier, logto_token: str
) -> None:
    principal = authenticate(session, logto_token, verifier=verifier, create=True)
    principal.user.status = UserStatus.DELETION_PENDING
    session.flush()
    with pytest.raises(AuthError, match="is deletion pending"):
        authenticate(session, logto_token, verifier=verifier)


def test_a_restricted_user_signs_in_to_accept_the_policy_again(
    session: Session, verifier: TokenVerifier, logto_token: str
) -> None:
    principal = authenticate(session, logto_token, verifier=verifier, create=True)
    principal.user.status = UserStatus.RESTRICTED
    session.flush()
    assert authenticate(session, logto_token, verifier=verifier).user_id == principal.user_id


def test_a_rejected_token_writes_nothing(
    session: Session, verifier: TokenVerifier, servers: tuple[FakeLogto, IdentityServer]
) -> None:
    forged = logto_key("attacker").sign(logto_claims(servers[0].issuer), kid="logto-1")
    with pytest.raises(AuthError, match="bad signature"):
        authenticate(session, forged, verifier=verifier, create=True)
    assert _count(session, User) == 0 and _count(session, AuditEvent) == 0


def test_scopes_are_enforced_on_request(
    session: Session, verifier: TokenVerifier, logto_token: str
) -> None:
    principal = authenticate(session, logto_token, verifier=verifier, create=True)
    principal.require_scope("credits:spend")
    with pytest.raises(AuthError, match="lacks the scope 'admin'"):
        principal.require_scope("admin")


def test_a_first_name_with_control_characters_is_refused_at_sign_in(
    session: Session, verifier: TokenVerifier, logto_token: str
) -> None:
    from liveai.errors import InvalidInput

    bind(session, logto_token, verifier=verifier)  # bound, no name yet
    with pytest.raises(InvalidInput, match="control character"):
        bind(session, logto_token, verifier=verifier, display_name="Ann\x1b]8;;https://x\x07")
    with pytest.raises(InvalidInput, match="control character"):
        bind(session, apple_key().sign(apple_claims()), verifier=verifier, display_name="\x9bB")
