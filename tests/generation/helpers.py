"""Shared pieces for the generation tests: photos, a wired Lifecycle, ledger checks."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from liveai import ledger
from liveai.clock import Clock, FixedClock
from liveai.db import Database
from liveai.events import TaskFinished
from liveai.generation import Lifecycle, NewTask, create_task
from liveai.models import Task
from liveai.privacy import consents
from liveai.providers.base import Motion, Provider
from liveai.settings import Settings, load_settings
from liveai.storage import LocalStorage
from liveai.users import create_user

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Crash(BaseException):
    """A simulated kill -9: not an Exception, so nothing in the library catches it."""


def photo(width: int = 640, height: int = 480, fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", (width, height), (90, 140, 200))
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, width // 2, height // 2), "orange")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def rig_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": tmp_path / "home",
        "generation_poll_interval_s": 1.0,
        "generation_poll_backoff": 2.0,
        "generation_poll_max_interval_s": 8.0,
        "generation_poll_timeout_s": 600,
        "render_max_side": 128,
        "generation_prices": {"default": {5: 10, 10: 20}, "b": {5: 12}},
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class Rig:
    """A database, storage, clock, http client and providers wired into a Lifecycle."""

    database: Database
    settings: Settings
    storage: LocalStorage
    clock: FixedClock
    client: httpx.Client
    providers: dict[str, Provider]
    finished: list[TaskFinished] = field(default_factory=list)
    crash_at: str | None = None

    def lifecycle(self, **overrides: Any) -> Lifecycle:
        values: dict[str, Any] = {
            "database": self.database,
            "storage": self.storage,
            "providers": self.providers,
            "settings": self.settings,
            "client": self.client,
            "clock": self.clock,
            "sleep": lambda s: self.clock.advance(timedelta(seconds=s)),
            "on_finished": [self.finished.append],
            "progress": self._progress,
        }
        values.update(overrides)
        return Lifecycle(**values)

    def _progress(self, task_id: uuid.UUID, stage: str) -> None:
        if stage == self.crash_at:
            self.crash_at = None
            raise Crash(stage)

    def user(self, credits: int = 100, *, consented: bool = True) -> uuid.UUID:
        with self.database.transaction() as session:
            user = create_user(
                session, issuer="https://t", subject=uuid.uuid4().hex, clock=self.clock
            )
            if credits:
                ledger.grant(
                    session, user.id, credits, key=f"g:{user.id}", reason="t", clock=self.clock
                )
            if consented:
                give_generation_consents(session, user.id, self.clock)
            return user.id

    def create(self, user_id: uuid.UUID, **fields: Any) -> Task:
        fields.setdefault("image", photo())
        fields.setdefault("motion", Motion.ZOOM_IN)
        with self.database.transaction() as session:
            return create_task(
                session,
                self.storage,
                self.providers,
                self.settings,
                user_id,
                NewTask(**fields),
                clock=self.clock,
            )

    def balance(self, user_id: uuid.UUID) -> ledger.Balance:
        with self.database.transaction() as session:
            return ledger.balance(session, user_id, clock=self.clock)

    def reconciled(self) -> bool:
        with self.database.transaction() as session:
            report = ledger.reconcile(session)
        assert report.ok, report
        return True

    def session(self) -> Callable[[], Any]:
        return self.database.transaction


def providers_for(
    client: httpx.Client, urls: Mapping[str, str], **regions: Any
) -> dict[str, Provider]:
    from tests.fakes.video_provider import FakeVideoProvider

    return {
        name: FakeVideoProvider(name, url, client, region=regions.get(name, "mainland_china"))
        for name, url in urls.items()
    }


GENERATION_CONSENTS = ("sensitive:photos", "face_editing", "cross_border:fal")


def give_generation_consents(
    session: Session, user_id: uuid.UUID, clock: Clock, kinds: tuple[str, ...] = GENERATION_CONSENTS
) -> None:
    """What a generation at any provider needs, given in the app (tests of other things)."""
    for kind in kinds:
        consents.grant(
            session,
            user_id,
            kind,
            source="in-app",
            evidence=consents.Evidence(app_version="1.0", request_id="test"),
            clock=clock,
        )


def in_session(database: Database, fn: Callable[[Session], Any]) -> Any:
    with database.transaction() as session:
        return fn(session)
