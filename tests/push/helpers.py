"""Shared helpers for the push tests: a running fake APNs with its TLS files and .p8 key."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from liveai.clock import FixedClock
from liveai.push import (
    ApnsConfig,
    Notification,
    ProviderToken,
    Pusher,
    PushResult,
    Target,
    load_signing_key,
)
from liveai.settings import Settings
from tests.fakes.apns import FakeApns, TlsFiles, running

KEY_ID = "ABC123DEFG"
TEAM_ID = "TEAM123456"
TOPIC = "ai.live.app"


def device_token(n: int) -> str:
    return f"{n:064x}"


@dataclass
class ApnsWorld:
    server: FakeApns
    tls: TlsFiles
    key_path: Path
    clock: FixedClock
    signer: ProviderToken
    sleeps: list[float] = field(default_factory=list)

    async def record_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def config(self, **overrides: Any) -> ApnsConfig:
        options: dict[str, Any] = {
            "key_file": self.key_path,
            "key_id": KEY_ID,
            "team_id": TEAM_ID,
            "topic": TOPIC,
            "base_url": self.server.url,
            "ca_file": self.tls.ca_file,
            "timeout": 5.0,
            "retries": 2,
        }
        options.update(overrides)
        return ApnsConfig(**options)

    def pusher(self, signer: ProviderToken | None = None, **overrides: Any) -> Pusher:
        return Pusher(
            self.config(**overrides),
            signer or self.signer,
            clock=self.clock,
            sleep=self.record_sleep,
        )

    def send(self, target: Target, note: Notification, **overrides: Any) -> PushResult:
        (result,) = self.pusher(**overrides).push([(target, note)])
        return result

    def env(self) -> dict[str, str]:
        return {
            "LIVEAI_APNS_KEY_FILE": str(self.key_path),
            "LIVEAI_APNS_KEY_ID": KEY_ID,
            "LIVEAI_APNS_TEAM_ID": TEAM_ID,
            "LIVEAI_APPLE_BUNDLE_ID": TOPIC,
            "LIVEAI_APNS_BASE_URL": self.server.url,
            "LIVEAI_APNS_CA_FILE": str(self.tls.ca_file),
            "LIVEAI_APNS_RETRIES": "1",
        }

    def settings(self, monkeypatch: pytest.MonkeyPatch, **extra: str) -> Settings:
        for name, value in {**self.env(), **extra}.items():
            monkeypatch.setenv(name, value)
        return Settings()


@contextmanager
def apns_world(folder: Path) -> Iterator[ApnsWorld]:
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    with running(
        folder, key_id=KEY_ID, team_id=TEAM_ID, topic=TOPIC, now=lambda: clock.now().timestamp()
    ) as (server, tls, key_path):
        signer = ProviderToken(
            load_signing_key(key_path), key_id=KEY_ID, team_id=TEAM_ID, clock=clock
        )
        yield ApnsWorld(server, tls, key_path, clock, signer)


def sqlite_copy(template: Path, folder: Path) -> str:
    """A fresh migrated SQLite database, for tests whose subject is not the backend."""
    path = folder / "push.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"
