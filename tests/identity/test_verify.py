"""Token verification: the adversarial suite, key-set caching and rotation, transport rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from liveai.clock import FixedClock
from liveai.errors import AuthError, ConfigError, UpstreamError
from liveai.identity.jwks import KeySet, require_https
from liveai.identity.tokens import TokenVerifier, verifier_from_settings
from liveai.settings import Settings
from tests.fakes.apple_id import FakeAppleId
from tests.fakes.logto import FakeLogto
from tests.identity.helpers import (
    AUDIENCE,
    BUNDLE_ID,
    NOW,
    SERVICES_ID,
    apple_claims,
    apple_key,
    identity_settings,
    logto_claims,
    logto_key,
    p256_key,
    ts,
)


@pytest.fixture
def logto() -> Iterator[FakeLogto]:
    with FakeLogto() as server:
        server.jwks = [logto_key().jwk()]  # Logto omits alg and use
        yield server


@pytest.fixture
def apple() -> Iterator[FakeAppleId]:
    fake = FakeAppleId(
        team_id="TEAM123456", key_id="KEY1234567", client_ids={BUNDLE_ID}, secret_key_pem=b""
    )
    with fake as server:
        server.jwks = [apple_key().jwk(with_alg=True)]
        yield server


@pytest.fixture
def verifier(
    logto: FakeLogto, apple: FakeAppleId, http: httpx.Client, clock: FixedClock
) -> TokenVerifier:
    return verifier_from_settings(identity_settings(logto.url, apple.url), http=http, clock=clock)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None = None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"


def test_a_logto_access_token_is_accepted(verifier: TokenVerifier, logto: FakeLogto) -> None:
    token = logto_key().sign(logto_claims(logto.issuer))
    verified = verifier.verify(token)
    assert verified.provider == "logto"
    assert verified.subject == "u_logto1"
    assert verified.scopes == {"credits:read", "credits:spend"}
    assert verified.expires_at == NOW + timedelta(hours=1)


def test_missing_scope_means_no_scopes(verifier: TokenVerifier, logto: FakeLogto) -> None:
    token = logto_key().sign(logto_claims(logto.issuer, scope=None))
    assert verifier.verify(token).scopes == frozenset()


@pytest.mark.parametrize("audience", [BUNDLE_ID, SERVICES_ID])
@pytest.mark.parametrize(("flag", "expected"), [("true", True), (True, True), ("false", False)])
def test_an_apple_identity_token_is_accepted(
    verifier: TokenVerifier, audience: str, flag: Any, expected: bool
) -> None:
    claims = apple_claims(aud=audience, email_verified=flag, is_private_email=str(flag).lower())
    verified = verifier.verify(apple_key().sign(claims))
    assert verified.provider == "apple"
    assert verified.email == "x8sq@privaterelay.appleid.com"
    assert verified.email_verified is expected
    assert verified.is_private_email is expected


def _attack(name: str, issuer: str) -> str:
    key = logto_key()
    good = logto_claims(issuer)
    header = {"alg": "ES384", "kid": key.kid}
    if name == "alg none":
        return forge({"alg": "none", "kid": key.kid}, good)
    if name == "HMAC with the public key":
        return forge({"alg": "HS256", "kid": key.kid}, good, key.public_pem)
    if name == "unknown kid":
        return logto_key("rogue").sign(good)
    if name == "bad signature":
        return logto_key("attacker").sign(good, kid=key.kid)
    if name == "tampered payload":
        head, _, sig = key.sign(good).split(".")
        return f"{head}.{b64(json.dumps({**good, 'sub': 'admin'}).encode())}.{sig}"
    if name == "missing kid":
        return forge({"alg": "ES384"}, good) + "c2ln"
    if name == "pinned algorithm":
        return p256_key(key.kid).sign(good)
    if name == "malformed header":
        return "bm90IGpzb24." + forge(header, good).split(".", 1)[1] + "c2ln"
    claims = {
        "expired": logto_claims(issuer, exp=ts(NOW - timedelta(minutes=5))),
        "not yet valid (nbf)": logto_claims(issuer, nbf=ts(NOW + timedelta(minutes=5))),
        "not yet valid (iat)": logto_claims(issuer, iat=ts(NOW + timedelta(minutes=5))),
        "wrong issuer": logto_claims(issuer, iss="https://evil.example/oidc"),
        "issuer trailing slash": logto_claims(issuer, iss=issuer + "/"),
        "wrong audience": logto_claims(issuer, aud="https://other-api.example"),
        "missing sub": logto_claims(issuer, sub=None),
        "empty sub": logto_claims(issuer, sub=" "),
        "missing exp": logto_claims(issuer, exp=None),
        "exp not a number": logto_claims(issuer, exp="tomorrow"),
    }[name]
    return key.sign(claims)


ATTACKS = {
    "alg none": "alg none: unsigned tokens are never accepted",
    "HMAC with the public key": "HMAC algorithm HS256",
    "unknown kid": "unknown key id 'rogue'",
    "bad signature": "bad signature",
    "tampered payload": "bad signature",
    "missing kid": "has no key id",
    "pinned algorithm": "algorithm ES256 is not allowed for logto",
    "malformed header": "malformed token",
    "expired": "expired at 2026-11-28T11:55:00+00:00",
    "not yet valid (nbf)": "not yet valid: nbf",
    "not yet valid (iat)": "not yet valid: issued in the future",
    "wrong issuer": "wrong issuer 'https://evil.example/oidc'",
    "issuer trailing slash": "wrong issuer",
    "wrong audience": "wrong audience for logto",
    "missing sub": "missing sub",
    "empty sub": "missing sub",
    "missing exp": "missing exp",
    "exp not a number": "malformed token: exp is not a number",
}


@pytest.mark.parametrize("name", ATTACKS)
def test_each_attack_is_rejected_with_its_reason(
    verifier: TokenVerifier, logto: FakeLogto, name: str
) -> None:
    with pytest.raises(AuthError) as caught:
        verifier.verify(_attack(name, logto.issuer))
    assert ATTACKS[name] in caught.value.message
    assert int(caught.value.exit_code) == 4


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "a.b.c.d", "é.é.é"])
def test_garbage_is_malformed(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(AuthError, match="malformed token"):
        verifier.verify(token)


def test_leeway_accepts_a_token_just_expired(verifier: TokenVerifier, logto: FakeLogto) -> None:
    token = logto_key().sign(logto_claims(logto.issuer, exp=ts(NOW - timedelta(seconds=20))))
    assert verifier.verify(token).subject == "u_logto1"


def test_a_key_of_another_type_under_the_kid_is_refused(
    verifier: TokenVerifier, logto: FakeLogto
) -> None:
    logto.jwks = [apple_key("mixed").jwk()]
    token = logto_key("mixed").sign(logto_claims(logto.issuer))
    with pytest.raises(AuthError, match="'mixed' is an RS256 key, the token says ES384"):
        verifier.verify(token)


def test_a_logto_token_is_never_accepted_as_apple(
    verifier: TokenVerifier, logto: FakeLogto
) -> None:
    relabelled = logto_key().sign(apple_claims())
    with pytest.raises(AuthError, match="algorithm ES384 is not allowed for apple"):
        verifier.verify(relabelled)


def test_an_apple_token_is_never_accepted_as_logto(
    logto: FakeLogto, apple: FakeAppleId, http: httpx.Client, clock: FixedClock
) -> None:
    # Even with RS256 allowed for Logto, Apple's keys are not Logto's keys.
    settings = identity_settings(logto.url, apple.url, logto_algorithms="ES384,RS256")
    verifier = verifier_from_settings(settings, http=http, clock=clock)
    with pytest.raises(AuthError, match="unknown key id 'apple-1'"):
        verifier.verify(apple_key().sign(logto_claims(logto.issuer)))
    with pytest.raises(AuthError, match="wrong audience for logto"):
        verifier.verify(logto_key().sign(logto_claims(logto.issuer, aud=BUNDLE_ID)))
    with pytest.raises(AuthError, match="wrong audience for apple"):
        verifier.verify(apple_key().sign(apple_claims(aud=AUDIENCE)))


def test_nonce_raw_or_hashed(verifier: TokenVerifier) -> None:
    hashed = hashlib.sha256(b"raw-nonce").hexdigest()
    token = apple_key().sign(apple_claims(nonce=hashed))
    assert verifier.verify(token, nonce="raw-nonce").subject == "000851.abcdef.0747"
    assert verifier.verify(apple_key().sign(apple_claims(nonce="n1")), nonce="n1")
    with pytest.raises(AuthError, match="nonce mismatch"):
        verifier.verify(token, nonce="other")
    with pytest.raises(AuthError, match="nonce missing"):
        verifier.verify(apple_key().sign(apple_claims()), nonce="raw-nonce")


def test_rotation_refetches_once_for_a_new_kid(
    verifier: TokenVerifier, logto: FakeLogto, clock: FixedClock
) -> None:
    verifier.verify(logto_key().sign(logto_claims(logto.issuer)))
    assert logto.hits("/oidc/jwks") == 1
    logto.jwks = [logto_key().jwk(), logto_key("logto-2").jwk()]
    clock.advance(timedelta(seconds=60))  # refetches are at least a minute apart
    rotated = logto_key("logto-2").sign(logto_claims(logto.issuer))
    assert verifier.verify(rotated).subject == "u_logto1"
    assert logto.hits("/oidc/jwks") == 2
    assert verifier.verify(rotated) and logto.hits("/oidc/jwks") == 2


def test_unknown_kids_refetch_at_most_once_a_minute(
    verifier: TokenVerifier, logto: FakeLogto, clock: FixedClock
) -> None:
    verifier.verify(logto_key().sign(logto_claims(logto.issuer)))
    rogue = logto_key("rogue").sign(logto_claims(logto.issuer))
    with pytest.raises(AuthError, match="unknown key id"):
        verifier.verify(rogue)
    assert logto.hits("/oidc/jwks") == 1  # fetched this very minute
    clock.advance(timedelta(seconds=60))
    for _ in range(3):
        with pytest.raises(AuthError, match="unknown key id"):
            verifier.verify(rogue)
    assert logto.hits("/oidc/jwks") == 2
    clock.advance(timedelta(seconds=61))
    with pytest.raises(AuthError, match="unknown key id"):
        verifier.verify(rogue)
    assert logto.hits("/oidc/jwks") == 3


def test_cached_keys_outlive_an_outage_until_max_age(
    verifier: TokenVerifier, logto: FakeLogto, clock: FixedClock
) -> None:
    def fresh() -> str:
        now = clock.now()
        claims = logto_claims(logto.issuer, iat=ts(now), exp=ts(now + timedelta(hours=1)))
        return logto_key().sign(claims)

    verifier.verify(fresh())
    logto.fail("jwks", 503, times=100)
    clock.advance(timedelta(hours=2))  # past refresh_after: refetch fails, cache kept
    assert verifier.verify(fresh()).subject == "u_logto1"
    assert logto.hits("/oidc/jwks") == 2
    clock.advance(timedelta(hours=23))  # past max_age: the cache is dropped
    with pytest.raises(UpstreamError, match="answered HTTP 503"):
        verifier.verify(fresh())


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (503, "answered HTTP 503"),
        (429, "answered HTTP 429"),
        ("malformed", "not a JWKS document"),
        ("drop", "unreachable"),
        ("hang", "unreachable: ReadTimeout"),
    ],
)
def test_key_server_faults_without_a_cache_are_upstream_errors(
    logto: FakeLogto, clock: FixedClock, fault: int | str, reason: str
) -> None:
    logto.fail("jwks", fault)
    with httpx.Client(timeout=0.3) as http:
        keys = KeySet(f"{logto.issuer}/jwks", http=http, name="logto", clock=clock)
        with pytest.raises(UpstreamError, match=reason) as caught:
            keys.key("logto-1")
        assert int(caught.value.exit_code) == 6
        clock.advance(timedelta(seconds=60))
        assert keys.key("logto-1").algorithm_name == "ES384"  # recovers after the interval


def test_symmetric_and_encryption_keys_in_a_key_set_are_ignored(
    logto: FakeLogto, http: httpx.Client, clock: FixedClock
) -> None:
    logto.jwks = [
        {"kty": "oct", "kid": "hs", "k": b64(b"secret")},
        {**logto_key("enc").jwk(), "use": "enc"},
        {"kty": "EC", "kid": "broken", "crv": "P-384", "x": "AA", "y": "AA"},
        logto_key().jwk(),
    ]
    keys = KeySet(f"{logto.issuer}/jwks", http=http, name="logto", clock=clock)
    assert keys.refresh() == 1
    for kid in ("hs", "enc", "broken"):
        with pytest.raises(AuthError, match="unknown key id"):
            keys.key(kid)


def test_an_empty_key_set_is_an_upstream_error(
    logto: FakeLogto, http: httpx.Client, clock: FixedClock
) -> None:
    logto.jwks = []
    keys = KeySet(f"{logto.issuer}/jwks", http=http, name="logto", clock=clock)
    with pytest.raises(UpstreamError, match="no usable signing key"):
        keys.refresh()


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://auth.example/oidc", True),
        ("http://127.0.0.1:8080/oidc", True),
        ("http://[::1]:8080/oidc", True),
        ("http://localhost/oidc", True),
        ("http://auth.example/oidc", False),
        ("http://10.0.0.1/oidc", False),
        ("ftp://auth.example/oidc", False),
        ("auth.example/oidc", False),
    ],
)
def test_issuers_and_key_sets_must_be_https_except_loopback(url: str, ok: bool) -> None:
    if ok:
        assert require_https(url, what="issuer") == url
        return
    with pytest.raises(ConfigError, match="must be an https URL"):
        require_https(url, what="issuer")


def test_settings_are_checked(http: httpx.Client) -> None:
    with pytest.raises(ConfigError, match="no token issuer is configured"):
        verifier_from_settings(Settings(), http=http)
    with pytest.raises(ConfigError, match="both an issuer and an audience"):
        verifier_from_settings(Settings(logto_issuer="https://a.example/oidc"), http=http)
    with pytest.raises(ConfigError, match="must be an https URL"):
        verifier_from_settings(
            Settings(logto_issuer="http://a.example/oidc", logto_audience="x"), http=http
        )
    apple_only = verifier_from_settings(Settings(apple_audiences=BUNDLE_ID), http=http)
    assert list(apple_only.policies) == ["https://appleid.apple.com"]


def test_failed_key_set_fetches_back_off_instead_of_flooding(
    logto: FakeLogto, http: httpx.Client, clock: FixedClock
) -> None:
    logto.fail("jwks", 503, times=100)
    keys = KeySet(f"{logto.issuer}/jwks", http=http, name="logto", clock=clock)
    hits = []
    for step in [0, 0, 0, 59, 1, 60, 59, 1, 120, 119, 1]:
        clock.advance(timedelta(seconds=step))
        with pytest.raises(UpstreamError, match="answered HTTP 503"):
            keys.key(f"junk-{step}")
        hits.append(logto.hits("/oidc/jwks"))
    # a fetch, then none for 60 s, then 120 s, then 240 s: each failure doubles the wait
    assert hits == [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4]


def test_one_fetch_at_a_time_and_waiters_fail_fast(logto: FakeLogto, clock: FixedClock) -> None:
    import threading
    import time

    logto.fail("jwks", "hang")
    outcomes: list[str] = []
    with httpx.Client(timeout=30.0) as http:
        keys = KeySet(f"{logto.issuer}/jwks", http=http, name="logto", clock=clock)

        def first() -> None:
            try:
                keys.key("junk")
            except UpstreamError:
                outcomes.append("upstream")

        fetching = threading.Thread(target=first)
        fetching.start()
        while logto.hits("/oidc/jwks") == 0:
            time.sleep(0.01)
        for _ in range(7):
            with pytest.raises(UpstreamError, match="being fetched"):
                keys.key("junk")
        assert fetching.is_alive() and logto.hits("/oidc/jwks") == 1
        logto._release.set()
        fetching.join()
    assert outcomes == ["upstream"]


def test_several_audiences_need_an_authorised_party_of_ours(
    logto: FakeLogto, apple: FakeAppleId, http: httpx.Client, clock: FixedClock
) -> None:
    both = [BUNDLE_ID, "com.other.app"]
    plain = verifier_from_settings(identity_settings(logto.url, apple.url), http=http, clock=clock)
    for claims, reason in [
        (apple_claims(aud=both), "several audiences and no authorised party"),
        (apple_claims(aud=both, azp="com.other.app"), "authorised party 'com.other.app'"),
    ]:
        with pytest.raises(AuthError, match=reason):
            plain.verify(apple_key().sign(claims))
    assert plain.verify(apple_key().sign(apple_claims(aud=both, azp=BUNDLE_ID)))
    assert plain.verify(apple_key().sign(apple_claims()))  # one audience: as before

    many = [AUDIENCE, "https://other-api.example"]
    logto_many = logto_key().sign(logto_claims(logto.issuer, aud=many))
    with pytest.raises(AuthError, match="LIVEAI_LOGTO_CLIENT_IDS"):
        plain.verify(logto_many)
    assert plain.verify(logto_key().sign(logto_claims(logto.issuer)))
    settings = identity_settings(logto.url, apple.url, logto_client_ids="native-app, web")
    listed = verifier_from_settings(settings, http=http, clock=clock)
    assert listed.verify(logto_many).subject == "u_logto1"
    rogue = logto_claims(logto.issuer, client_id="rogue-app")
    with pytest.raises(AuthError, match="authorised party 'rogue-app'"):
        listed.verify(logto_key().sign(rogue))


def test_a_token_carrying_a_nonce_is_not_accepted_unchecked(verifier: TokenVerifier) -> None:
    token = apple_key().sign(apple_claims(nonce=hashlib.sha256(b"raw").hexdigest()))
    with pytest.raises(AuthError, match="nonce"):
        verifier.verify(token)
    assert verifier.verify(token, nonce="raw").subject == "000851.abcdef.0747"
