"""The APNs client against the loopback HTTP/2 server: JWT, headers, every documented answer."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from liveai.errors import ConfigError, InvalidInput
from liveai.models import ApnsEnvironment
from liveai.push import (
    Notification,
    ProviderToken,
    PushOutcome,
    Target,
    load_signing_key,
    make_http_client,
)
from tests.fakes.apns import Fault, make_signing_key
from tests.push.helpers import KEY_ID, TEAM_ID, TOPIC, ApnsWorld, apns_world, device_token

SANDBOX = ApnsEnvironment.SANDBOX
NOTE = Notification(
    title="Ready", body="Tap to watch", collapse_id="task-42", data={"taskId": "task-42"}
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ApnsWorld]:
    with apns_world(tmp_path) as w:
        yield w


def target(n: int = 1) -> Target:
    return Target(device_token(n), SANDBOX)


# --- the provider token ---


def test_provider_token_is_es256_with_kid_iss_and_integer_iat(world: ApnsWorld) -> None:
    token = world.signer.current()
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, load_signing_key(world.key_path).public_key(), algorithms=["ES256"])
    assert header["alg"] == "ES256"
    assert header["kid"] == KEY_ID
    assert claims == {"iss": TEAM_ID, "iat": int(world.clock.now().timestamp())}


def test_provider_token_is_cached_then_renewed_after_40_minutes(world: ApnsWorld) -> None:
    first = world.signer.current()
    world.clock.advance(timedelta(minutes=39))
    assert world.signer.current() == first
    world.clock.advance(timedelta(minutes=1))
    second = world.signer.current()
    assert second != first
    assert world.signer.mints == 2


def test_a_rejected_token_is_renewed_once_however_many_threads_saw_it(world: ApnsWorld) -> None:
    rejected = world.signer.current()
    world.clock.advance(timedelta(seconds=5))
    fresh = [world.signer.renew(rejected) for _ in range(3)]
    assert len(set(fresh)) == 1
    assert fresh[0] != rejected
    assert world.signer.mints == 2


def test_renewal_interval_outside_apples_window_is_refused(world: ApnsWorld) -> None:
    key = load_signing_key(world.key_path)
    with pytest.raises(ValueError, match="between 20 and 60"):
        ProviderToken(key, key_id=KEY_ID, team_id=TEAM_ID, renew_after=timedelta(minutes=61))


def test_unusable_keys_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the APNs key"):
        load_signing_key(tmp_path / "missing.p8")
    garbage = tmp_path / "garbage.p8"
    garbage.write_text("not a key")
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        load_signing_key(garbage)
    rsa_key = tmp_path / "rsa.p8"
    rsa_key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigError, match="P-256"):
        load_signing_key(rsa_key)


# --- requests and answers ---


def test_delivery_sends_the_documented_headers_and_payload(world: ApnsWorld) -> None:
    result = world.send(target(), NOTE)
    assert result.outcome is PushOutcome.DELIVERED
    assert result.attempts == 1
    (received,) = world.server.received
    assert result.apns_id
    headers = received.headers
    assert headers[":path"] == f"/3/device/{device_token(1)}"
    assert headers["apns-topic"] == TOPIC
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "10"
    expires = world.clock.now() + timedelta(days=1)
    assert headers["apns-expiration"] == str(int(expires.timestamp()))
    assert headers["apns-collapse-id"] == "task-42"
    assert received.payload == {
        "aps": {"alert": {"title": "Ready", "body": "Tap to watch"}, "sound": "default"},
        "taskId": "task-42",
    }


@pytest.mark.parametrize(
    ("status", "reason"),
    [(410, "Unregistered"), (400, "BadDeviceToken"), (400, "DeviceTokenNotForTopic")],
)
def test_dead_tokens_are_reported_invalid_without_retrying(
    world: ApnsWorld, status: int, reason: str
) -> None:
    world.server.script(device_token(1), Fault(status, reason, timestamp_ms=1_700_000_000_000))
    result = world.send(target(), NOTE)
    assert result.outcome is PushOutcome.INVALID_TOKEN
    assert (result.status, result.reason, result.attempts) == (status, reason, 1)
    assert (result.invalid_since is not None) == (status == 410)
    assert world.sleeps == []


def test_expired_provider_token_is_renewed_and_the_push_retried_once(world: ApnsWorld) -> None:
    pusher = world.pusher()
    assert pusher.push([(target(1), NOTE)])[0].delivered
    world.server.expire_provider_tokens()
    (result,) = pusher.push([(target(2), NOTE)])
    assert result.delivered
    assert result.attempts == 1
    statuses = [(r.status, r.reason) for r in world.server.received]
    assert statuses == [(200, None), (403, "ExpiredProviderToken"), (200, None)]
    jwts = [r.jwt for r in world.server.received]
    assert jwts[0] == jwts[1] != jwts[2]
    assert world.signer.mints == 2


def test_a_second_expired_provider_token_answer_is_not_retried(world: ApnsWorld) -> None:
    expired = Fault(403, "ExpiredProviderToken")
    world.server.script(device_token(1), expired, expired)
    result = world.send(target(), NOTE)
    assert result.outcome is PushOutcome.FAILED
    assert result.reason == "ExpiredProviderToken"
    assert len(world.server.received) == 2


def test_rate_limits_and_server_errors_retry_with_backoff(world: ApnsWorld) -> None:
    world.server.script(
        device_token(1), Fault(429, "TooManyRequests"), Fault(503, "ServiceUnavailable")
    )
    result = world.send(target(), NOTE, retries=2)
    assert result.delivered
    assert result.attempts == 3
    assert world.sleeps == [0.5, 1.0]


def test_retries_run_out_and_the_push_fails_with_its_reason(world: ApnsWorld) -> None:
    world.server.always = Fault(500, "InternalServerError")
    result = world.send(target(), NOTE, retries=2)
    assert result.outcome is PushOutcome.FAILED
    assert (result.status, result.reason, result.attempts) == (500, "InternalServerError", 3)
    assert len(world.server.received) == 3


def test_other_refusals_fail_at_once_and_are_logged_with_their_reason(
    world: ApnsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="liveai.push"):
        result = world.send(target(), NOTE, topic="com.other.app")
    assert result.outcome is PushOutcome.FAILED
    assert (result.status, result.reason, result.attempts) == (400, "TopicDisallowed", 1)
    assert "TopicDisallowed" in caplog.text
    assert device_token(1) not in caplog.text


def test_a_malformed_error_body_still_ends_in_a_result(world: ApnsWorld) -> None:
    world.server.script(device_token(1), Fault(400, body=b"<html>bad gateway</html>"))
    result = world.send(target(), NOTE)
    assert result.outcome is PushOutcome.FAILED
    assert result.reason == "unreadable answer (HTTP 400)"


def test_a_timeout_is_retried_then_fails(world: ApnsWorld) -> None:
    world.server.script(device_token(1), Fault(200, delay=3), Fault(200, delay=3))
    result = world.send(target(), NOTE, timeout=0.3, retries=1)
    assert result.outcome is PushOutcome.FAILED
    assert result.reason == "ReadTimeout"
    assert result.attempts == 2
    assert world.sleeps == [0.5]


def test_an_unreachable_host_fails_without_raising(world: ApnsWorld) -> None:
    world.server.close()
    result = world.send(target(), NOTE, timeout=1.0, retries=1)
    assert result.outcome is PushOutcome.FAILED
    assert result.reason == "ConnectError"


def test_the_server_certificate_is_checked(world: ApnsWorld) -> None:
    result = world.send(target(), NOTE, ca_file=None, retries=0)
    assert result.reason == "ConnectError"
    assert world.server.received == []


def test_a_bad_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("nope")
    with pytest.raises(ConfigError, match="LIVEAI_APNS_CA_FILE"):
        make_http_client(ca_file=bad)


def test_many_pushes_share_one_connection_concurrently_and_one_token(world: ApnsWorld) -> None:
    world.server.hold = 8
    pushes = [(target(n), NOTE) for n in range(8)]
    results = world.pusher().push(pushes)
    assert [r.target.token for r in results] == [device_token(n) for n in range(8)]
    assert all(r.delivered for r in results)
    assert world.server.connections == 1
    assert world.server.max_in_flight == 8
    assert not world.server.hold_timed_out
    assert len({r.jwt for r in world.server.received}) == 1
    assert world.signer.mints == 1


def test_oversized_payloads_and_collapse_ids_are_refused_before_sending() -> None:
    with pytest.raises(InvalidInput, match="at most 4096"):
        Notification(title="t", body="x" * 5000).check()
    with pytest.raises(InvalidInput, match="collapse id"):
        Notification(title="t", body="b", collapse_id="c" * 65).check()
    with pytest.raises(InvalidInput, match="title and a body"):
        Notification(title=" ", body="b").check()


def test_chinese_text_is_sent_as_utf8_json() -> None:
    payload = Notification(title="视频已生成", body="点击查看").payload()
    assert "视频已生成".encode() in payload
    assert json.loads(payload)["aps"]["alert"]["title"] == "视频已生成"


def test_fake_rejects_a_token_signed_by_another_key(world: ApnsWorld, tmp_path: Path) -> None:
    stranger = make_signing_key(tmp_path / "other.p8")
    signer = ProviderToken(stranger, key_id=KEY_ID, team_id=TEAM_ID, clock=world.clock)
    (result,) = world.pusher(signer).push([(target(), NOTE)])
    assert (result.status, result.reason) == (403, "InvalidProviderToken")


def test_provider_token_is_thread_safe(world: ApnsWorld) -> None:
    seen: list[str] = []
    threads = [
        threading.Thread(target=lambda: seen.append(world.signer.current())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1
    assert world.signer.mints == 1


def test_hundreds_of_concurrent_pushes_share_one_connection_intact(world: ApnsWorld) -> None:
    pushes = [(target(n), NOTE) for n in range(60)]
    results = world.pusher().push(pushes)
    assert all(r.delivered for r in results)
    assert world.server.connections == 1
    assert sorted(r.token for r in world.server.received) == [device_token(n) for n in range(60)]


def test_the_fake_refuses_a_token_renewed_too_soon_on_one_connection(world: ApnsWorld) -> None:
    import asyncio

    from liveai.push import make_http_client as make_client

    other = ProviderToken(
        load_signing_key(world.key_path), key_id=KEY_ID, team_id=TEAM_ID, clock=world.clock
    )

    async def two_tokens() -> tuple[PushOutcome, str | None]:
        async with make_client(ca_file=world.tls.ca_file) as http:
            assert (await world.pusher().client(http).send(target(1), NOTE)).delivered
            world.clock.advance(timedelta(minutes=5))
            second = await world.pusher(other, retries=0).client(http).send(target(2), NOTE)
            return second.outcome, second.reason

    assert asyncio.run(two_tokens()) == (PushOutcome.FAILED, "TooManyProviderTokenUpdates")
