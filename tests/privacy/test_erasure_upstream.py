"""Erasure against PostgreSQL, S3 on moto, and the loopback Logto and Apple ID servers,
with the production wiring (`upstream_from_settings`) and a crash in the middle."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from liveai.db import Database, make_engine
from liveai.identity.cipher import TokenCipher
from liveai.identity.siwa import AppleClient, exchange_code
from liveai.models import Identity
from liveai.privacy.erasure import Eraser, verify_erased
from liveai.privacy.upstream import upstream_from_settings
from liveai.settings import Settings
from liveai.storage import user_prefix
from tests.fakes.apple_id import FakeAppleId
from tests.fakes.logto import FakeLogto
from tests.fakes.s3 import S3Env
from tests.identity.helpers import BUNDLE_ID, p256_key
from tests.privacy.helpers import NOW, seed_user

TEAM, KID = "TEAM123456", "KEY1234567"
SIWA_KEY = p256_key("siwa")


@pytest.fixture
def logto() -> Iterator[FakeLogto]:
    with FakeLogto() as server:
        yield server


@pytest.fixture
def apple() -> Iterator[FakeAppleId]:
    server = FakeAppleId(
        team_id=TEAM, key_id=KID, client_ids={BUNDLE_ID}, secret_key_pem=SIWA_KEY.public_pem
    )
    with server:
        yield server


@pytest.mark.postgres
@pytest.mark.parametrize("crash_at", ["logto", "storage"])
def test_erasure_closes_every_remote_account(
    postgres_url: str,
    s3_env: S3Env,
    logto: FakeLogto,
    apple: FakeAppleId,
    crash_at: str,
) -> None:
    settings = Settings(
        logto_issuer=logto.issuer,
        logto_m2m_app_id="m2m-app",
        logto_m2m_app_secret="m2m-secret",
        apple_audiences=BUNDLE_ID,
        siwa_url=apple.url,
        siwa_team_id=TEAM,
        siwa_key_id=KID,
        siwa_private_key=SIWA_KEY.private_pem,
        siwa_token_keys=TokenCipher.generate_key(),
    )
    storage = s3_env.storage()
    database = Database(make_engine(postgres_url))
    with database.transaction() as session:
        seeded = seed_user(session, storage, tag="remote")
        session.add(
            Identity(
                user_id=seeded.user_id,
                issuer=logto.issuer,
                subject="logto-u1",
                created_at=NOW,
            )
        )
        logto.users["logto-u1"] = {"id": "logto-u1"}
        refresh = apple.add_code("code-1", client_id=BUNDLE_ID, id_token=None)
        with httpx.Client(timeout=5.0) as http:
            exchange_code(
                session,
                seeded.user_id,
                "code-1",
                http=http,
                client=AppleClient(TEAM, KID, BUNDLE_ID, SIWA_KEY.private_pem, base_url=apple.url),
                cipher=TokenCipher.from_csv(settings.siwa_token_keys.get_secret_value()),  # type: ignore[union-attr]
            )

    original = getattr(Eraser, f"_step_{crash_at}")

    class Crashing(Eraser):
        pass

    def crash(self, session, run):  # type: ignore[no-untyped-def]
        original(self, session, run)
        raise KeyboardInterrupt(f"power cut after {crash_at}")

    setattr(Crashing, f"_step_{crash_at}", crash)
    with upstream_from_settings(settings) as upstream, pytest.raises(KeyboardInterrupt):
        Crashing(database, storage, upstream).run(seeded.user_id)
    with upstream_from_settings(settings) as upstream:
        run = Eraser(database, storage, upstream).run(seeded.user_id)

    assert run.report["skipped"] == []
    # a crash right after deleting the Logto user rolls back the record: the rerun finds it gone
    assert run.report["logto_users_deleted"] == (0 if crash_at == "logto" else 1)
    assert "logto-u1" not in logto.users
    assert refresh in apple.revoked
    assert not list(storage.list(user_prefix(seeded.user_id)))
    with database.transaction() as session:
        assert verify_erased(session, storage, seeded.user_id) == []
    storage.close()
    database.close()
