"""Submits with an unknown outcome: Kling is asked by our id and its generation collected;
Wan, which cannot be asked, gets no failover and the possible duplicate is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from liveai.clock import FixedClock
from liveai.db import Database
from liveai.errors import ProviderUnavailable
from liveai.models import AuditEvent, TaskState
from liveai.providers.registry import build_providers
from liveai.storage import LocalStorage
from tests.generation.helpers import START, Crash, Rig, rig_settings
from tests.providers.helpers import all_fakes, fake_settings

SUBMIT = {"kling": "/v1/videos/image2video", "wan": "/api/v1/services/aigc/video-generation"}


@pytest.fixture
def fakes() -> Iterator[dict[str, Any]]:
    with all_fakes() as running:
        yield running


def _rig(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any], order: str
) -> Rig:
    settings = rig_settings(
        tmp_path,
        **{**fake_settings(fakes), "provider_order": order, "provider_http_timeout_s": 1.0},
    )
    return Rig(
        database=database,
        settings=settings,
        storage=LocalStorage(tmp_path / "storage"),
        clock=FixedClock(START),
        client=client,
        providers=build_providers(settings, client),
    )


def _submits(fake: Any, name: str) -> int:
    return len(fake.requests_to(SUBMIT[name], "POST"))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as c:
        yield c


def test_a_kling_submit_that_timed_out_is_found_and_collected_not_failed_over(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, "kling,wan")
    fakes["kling"].inject("late", "submit")
    done = rig.lifecycle().run(rig.create(rig.user()).id)
    assert done.state is TaskState.SUCCEEDED and done.provider == "kling"
    assert _submits(fakes["kling"], "kling") == 1 and len(fakes["kling"].tasks) == 1
    assert _submits(fakes["wan"], "wan") == 0  # the photo went nowhere else


class _DiesAfterSubmit:
    """Kling's client, in a runner killed right after Kling accepted the submit."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def submit(self, request: Any) -> str:
        self.inner.submit(request)
        raise Crash("kill -9 before the answer was stored")


def test_a_runner_killed_mid_submit_leaves_a_kling_task_the_resume_collects(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, "kling")
    task = rig.create(rig.user())
    dying = {"kling": _DiesAfterSubmit(rig.providers["kling"])}
    with pytest.raises(Crash):
        rig.lifecycle(providers=dying).run(task.id)
    rig.clock.advance(timedelta(seconds=rig.settings.generation_lease_s + 1))
    done = rig.lifecycle().run(task.id)
    assert done.state is TaskState.SUCCEEDED and done.charged == 10
    assert _submits(fakes["kling"], "kling") == 1  # no second submit (Kling would say 1201)
    assert rig.reconciled()


def test_a_wan_submit_that_timed_out_is_not_failed_over_and_is_recorded(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, "wan,kling")
    fakes["wan"].inject("late", "submit")
    task = rig.create(rig.user())
    with pytest.raises(ProviderUnavailable):
        rig.lifecycle().run(task.id)
    assert _submits(fakes["kling"], "kling") == 0  # no second paid generation elsewhere
    with database.transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "task.possible_duplicate")
        ).all()
        assert [e.details["task_id"] for e in events] == [str(task.id)]
        assert events[0].details["provider"] == "wan"
    rig.clock.advance(timedelta(seconds=1))
    done = rig.lifecycle().run(task.id)  # the retry goes to Wan again
    assert done.state is TaskState.SUCCEEDED and done.provider == "wan"
