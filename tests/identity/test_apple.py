"""Sign in with Apple server side: client_secret, code exchange, encrypted storage, revoke."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.clock import FixedClock
from liveai.errors import AuthError, ConfigError, Conflict, UpstreamError
from liveai.identity.cipher import TokenCipher
from liveai.identity.siwa import (
    AppleClient,
    client_secret,
    credentials_of,
    exchange_code,
    revoke_tokens,
)
from liveai.identity.tokens import APPLE_ISSUER, TokenVerifier, bind
from liveai.models import AppleCredential, AuditEvent, Identity
from liveai.settings import Settings
from liveai.users import create_user
from tests.conftest import Cli
from tests.fakes.apple_id import FakeAppleId
from tests.identity.helpers import (
    BUNDLE_ID,
    NOW,
    apple_claims,
    apple_key,
    make_verifier,
    p256_key,
)

TEAM, KID = "TEAM123456", "KEY1234567"
SIWA_KEY = p256_key("siwa")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAppleId]:
    server = FakeAppleId(
        team_id=TEAM, key_id=KID, client_ids={BUNDLE_ID}, secret_key_pem=SIWA_KEY.public_pem
    )
    with server:
        server.jwks = [apple_key().jwk(with_alg=True)]
        yield server


@pytest.fixture
def client(fake: FakeAppleId) -> AppleClient:
    return AppleClient(TEAM, KID, BUNDLE_ID, SIWA_KEY.private_pem, base_url=fake.url)


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([TokenCipher.generate_key()])


@pytest.fixture
def verifier(fake: FakeAppleId, http: httpx.Client) -> TokenVerifier:
    settings = Settings(apple_jwks_url=f"{fake.url}/auth/keys", apple_audiences=BUNDLE_ID)
    return make_verifier(settings, http)


def test_client_secret_is_an_es256_jwt_apple_accepts(client: AppleClient) -> None:
    secret = client_secret(client, clock=FixedClock(NOW))
    assert jwt.get_unverified_header(secret) == {"alg": "ES256", "kid": KID, "typ": "JWT"}
    claims = jwt.decode(
        secret,
        SIWA_KEY.public_pem,
        algorithms=["ES256"],
        audience=APPLE_ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == TEAM and claims["sub"] == BUNDLE_ID
    assert claims["exp"] - claims["iat"] == 300
    longest = client_secret(client, lifetime=timedelta(seconds=15_777_000))
    assert jwt.decode(longest, options={"verify_signature": False})["sub"] == BUNDLE_ID
    with pytest.raises(ConfigError, match="6 months"):
        client_secret(client, lifetime=timedelta(days=183))
    with pytest.raises(ConfigError, match="not a P-256 private key"):
        client_secret(AppleClient(TEAM, KID, BUNDLE_ID, "not a key"))


def test_apple_client_from_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LIVEAI_SIWA_TEAM_ID, LIVEAI_SIWA_KEY_ID"):
        AppleClient.from_settings(Settings())
    p8 = tmp_path / "AuthKey.p8"
    p8.write_text(SIWA_KEY.private_pem)
    settings = Settings(
        siwa_team_id=TEAM, siwa_key_id=KID, siwa_private_key=str(p8), apple_audiences=BUNDLE_ID
    )
    loaded = AppleClient.from_settings(settings)
    assert loaded.client_id == BUNDLE_ID and loaded.private_key == SIWA_KEY.private_pem
    missing = Settings(siwa_team_id=TEAM, siwa_key_id=KID, siwa_private_key=str(p8 / "x"))
    with pytest.raises(ConfigError):
        AppleClient.from_settings(missing)
    with pytest.raises(ConfigError, match="must be an https URL"):
        AppleClient(TEAM, KID, BUNDLE_ID, base_url="http://appleid.example")


def _exchange(session: Session, user: str, code: str, **kw: object) -> AppleCredential:
    return exchange_code(session, user, code, **kw)  # type: ignore[arg-type]


def test_exchange_stores_the_refresh_token_encrypted_and_links_apple(
    session: Session,
    fake: FakeAppleId,
    client: AppleClient,
    http: httpx.Client,
    cipher: TokenCipher,
    verifier: TokenVerifier,
    clock: FixedClock,
) -> None:
    user = create_user(session, issuer="https://auth.example/oidc", subject="u1", clock=clock)
    id_token = apple_key().sign(apple_claims(sub="apple-sub-1"))
    refresh = fake.add_code("code-1", client_id=BUNDLE_ID, id_token=id_token)
    credential = exchange_code(
        session,
        "u1",
        "code-1",
        client=client,
        http=http,
        cipher=cipher,
        verifier=verifier,
        clock=clock,
    )
    stored = session.scalars(select(AppleCredential)).one()
    assert stored is credential and credential.user_id == user.id
    assert refresh not in stored.refresh_token_encrypted
    assert cipher.decrypt(stored.refresh_token_encrypted) == refresh
    linked = session.scalar(select(Identity).where(Identity.subject == "apple-sub-1"))
    assert linked is not None and linked.user_id == user.id
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["user.created", "identity.linked", "apple.token_stored"]
    with pytest.raises(AuthError, match="invalid_grant") as reused:
        exchange_code(session, "u1", "code-1", client=client, http=http, cipher=cipher)
    assert int(reused.value.exit_code) == 4


def test_a_code_of_another_apple_account_is_refused(
    session: Session,
    fake: FakeAppleId,
    client: AppleClient,
    http: httpx.Client,
    cipher: TokenCipher,
    verifier: TokenVerifier,
) -> None:
    bind(session, apple_key().sign(apple_claims(sub="apple-owner")), verifier=verifier)
    create_user(session, issuer="https://auth.example/oidc", subject="intruder")
    id_token = apple_key().sign(apple_claims(sub="apple-owner"))
    fake.add_code("code-2", client_id=BUNDLE_ID, id_token=id_token)
    with pytest.raises(Conflict, match="bound to another user"):
        exchange_code(
            session,
            "intruder",
            "code-2",
            client=client,
            http=http,
            cipher=cipher,
            verifier=verifier,
        )
    assert session.scalars(select(AppleCredential)).all() == []


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [
        (503, UpstreamError, "Apple answered HTTP 503"),
        (429, UpstreamError, "Apple answered HTTP 429"),
        ("malformed", UpstreamError, "not JSON"),
        ("drop", UpstreamError, "unreachable"),
    ],
)
def test_token_endpoint_faults(
    session: Session,
    fake: FakeAppleId,
    client: AppleClient,
    http: httpx.Client,
    cipher: TokenCipher,
    fault: int | str,
    error: type[Exception],
    reason: str,
) -> None:
    create_user(session, issuer="https://auth.example/oidc", subject="u1")
    fake.add_code("code-f", client_id=BUNDLE_ID, id_token=None)
    fake.fail("token", fault)
    with pytest.raises(error, match=reason):
        exchange_code(session, "u1", "code-f", client=client, http=http, cipher=cipher)
    assert session.scalars(select(AppleCredential)).all() == []


def test_a_wrong_key_id_is_invalid_client(
    session: Session, fake: FakeAppleId, http: httpx.Client, cipher: TokenCipher
) -> None:
    create_user(session, issuer="https://auth.example/oidc", subject="u1")
    fake.add_code("code-k", client_id=BUNDLE_ID, id_token=None)
    wrong = AppleClient(TEAM, "OTHERKEY00", BUNDLE_ID, SIWA_KEY.private_pem, base_url=fake.url)
    with pytest.raises(UpstreamError, match="invalid_client") as caught:
        exchange_code(session, "u1", "code-k", client=wrong, http=http, cipher=cipher)
    assert "key id" in str(caught.value)


def test_revoke_sends_the_stored_token_and_forgets_it(
    session: Session,
    fake: FakeAppleId,
    client: AppleClient,
    http: httpx.Client,
    cipher: TokenCipher,
) -> None:
    user = create_user(session, issuer="https://auth.example/oidc", subject="u1")
    refresh = fake.add_code("code-r", client_id=BUNDLE_ID, id_token=None)
    exchange_code(session, user.id, "code-r", client=client, http=http, cipher=cipher)
    fake.fail("revoke", 503)
    with pytest.raises(UpstreamError, match="503"):
        revoke_tokens(session, user.id, client=client, http=http, cipher=cipher)
    assert len(credentials_of(session, user.id)) == 1
    assert revoke_tokens(session, user.id, client=client, http=http, cipher=cipher) == 1
    assert fake.revoked[-1] == refresh and refresh not in fake.live_refresh_tokens
    assert fake.requests[-1].form["token_type_hint"] == "refresh_token"
    assert credentials_of(session, user.id) == []
    assert revoke_tokens(session, user.id, client=client, http=http, cipher=cipher) == 0
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "apple.tokens_revoked")
    ).all()
    assert [e.details for e in events] == [{"count": 1}, {"count": 0}]


def test_cipher_rotation_and_wrong_keys() -> None:
    old, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    sealed = TokenCipher([old]).encrypt("refresh-token")
    rotated = TokenCipher.from_csv(f"{new}, {old}")
    assert rotated.decrypt(sealed) == "refresh-token"
    assert TokenCipher([new]).decrypt(rotated.rotate(sealed)) == "refresh-token"
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        TokenCipher([new]).decrypt(sealed)
    with pytest.raises(ConfigError, match="not a valid Fernet key"):
        TokenCipher(["short"])
    with pytest.raises(ConfigError, match="LIVEAI_SIWA_TOKEN_KEYS"):
        TokenCipher.from_csv("")


def _seal_tokens(db_url: str, key: str, count: int) -> list[str]:
    from liveai.db import Database, make_engine
    from liveai.models import AppleCredential

    database = Database(make_engine(db_url))
    cipher, sealed = TokenCipher([key]), []
    with database.transaction() as session:
        for index in range(count):
            user = create_user(session, issuer="https://auth.example/oidc", subject=f"r{index}")
            now = user.created_at
            sealed.append(cipher.encrypt(f"refresh-{index}"))
            session.add(
                AppleCredential(
                    user_id=user.id,
                    client_id=BUNDLE_ID,
                    refresh_token_encrypted=sealed[-1],
                    created_at=now,
                    updated_at=now,
                )
            )
    database.close()
    return sealed


def _stored(db_url: str) -> list[str]:
    from liveai.db import Database, make_engine
    from liveai.models import AppleCredential

    database = Database(make_engine(db_url))
    with database.transaction() as session:
        query = select(AppleCredential).order_by(AppleCredential.id)
        stored = [c.refresh_token_encrypted for c in session.scalars(query)]
    database.close()
    return stored


def test_rotate_key_re_encrypts_stored_tokens_under_the_newest_key(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    _seal_tokens(db_url, old, 3)
    monkeypatch.setenv("LIVEAI_SIWA_TOKEN_KEYS", f"{new},{old}")
    done = cli("auth", "rotate-key", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["rotated"] == 3
    newest = TokenCipher([new])
    assert [newest.decrypt(s) for s in _stored(db_url)] == [f"refresh-{i}" for i in range(3)]
    events = json.loads(cli("audit", "list", "--json").stdout)
    assert any(e["action"] == "apple.tokens_rekeyed" for e in events)


def test_rotate_key_changes_nothing_when_a_token_cannot_be_decrypted(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    sealed = _seal_tokens(db_url, lost, 2)
    monkeypatch.setenv("LIVEAI_SIWA_TOKEN_KEYS", new)
    failed = cli("auth", "rotate-key")
    assert failed.exit_code == 1 and "cannot be decrypted" in failed.stderr
    assert _stored(db_url) == sealed
