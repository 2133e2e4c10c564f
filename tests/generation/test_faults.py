"""Faults from outside while a task runs: result downloads that keep failing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from liveai.clock import FixedClock
from liveai.db import Database
from liveai.models import TaskState
from liveai.storage import LocalStorage
from tests.fakes.video_provider import FakeServer, serve
from tests.generation.helpers import START, Rig, providers_for, rig_settings


@pytest.fixture
def rigged(database: Database, tmp_path: Path) -> Iterator[tuple[Rig, FakeServer]]:
    with serve(polls_to_finish=1) as fake, httpx.Client(timeout=0.5) as client:
        yield (
            Rig(
                database=database,
                settings=rig_settings(tmp_path, provider_order="a", download_retries=2),
                storage=LocalStorage(tmp_path / "storage"),
                clock=FixedClock(START),
                client=client,
                providers=providers_for(client, {"a": fake.url}),
            ),
            fake,
        )


def test_a_result_that_keeps_failing_to_download_fails_the_task_with_the_error(
    rigged: tuple[Rig, FakeServer],
) -> None:
    rig, fake = rigged
    fake.state.fail_next("download", "500", times=10)
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user).id)
    assert done.state is TaskState.FAILED and done.error_code == "download_failed"
    assert "2 retries" in (done.error or "") and "HTTP 500" in (done.error or "")
    assert fake.state.calls["download"] == 3  # the first try and two retries, no more
    assert rig.balance(user).available == 100 and rig.reconciled()


def test_a_download_that_fails_within_the_bound_still_succeeds(
    rigged: tuple[Rig, FakeServer],
) -> None:
    rig, fake = rigged
    fake.state.fail_next("download", "timeout", times=2)
    done = rig.lifecycle().run(rig.create(rig.user()).id)
    assert done.state is TaskState.SUCCEEDED and fake.state.calls["download"] == 3
