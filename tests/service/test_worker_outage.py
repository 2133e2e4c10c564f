"""A database outage under a real worker and a real `generate`, on a PostgreSQL cluster
the test stops and starts (not the shared server)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from liveai.db import make_engine, upgrade
from tests.conftest import Cli
from tests.fakes.kling import FakeKling
from tests.providers.helpers import KLING_AK, KLING_SK
from tests.service.helpers import start, wait_for
from tests.service.throwaway_postgres import Cluster, throwaway_cluster

pytestmark = pytest.mark.postgres


@pytest.fixture
def outage_rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Cluster, FakeKling, Cli]]:
    """A migrated throwaway cluster, Kling's fake as the only provider, and a user with
    credits; the CLI pointed at them."""
    with throwaway_cluster() as cluster, FakeKling(access_keys={KLING_AK: KLING_SK}) as kling:
        engine = make_engine(cluster.url)
        upgrade(engine)
        engine.dispose()
        for name, value in {
            "LIVEAI_KLING_BASE_URL": kling.url,
            "LIVEAI_KLING_ACCESS_KEY": KLING_AK,
            "LIVEAI_KLING_SECRET_KEY": KLING_SK,
            "LIVEAI_PROVIDER_ORDER": "kling",
            "LIVEAI_PROVIDER_HTTP_TIMEOUT_S": "5",
        }.items():
            monkeypatch.setenv(name, value)
        cli = Cli(monkeypatch, cluster.url)
        assert cli("users", "create", "--issuer", "https://t", "--sub", "ops").exit_code == 0
        for consent in ("face_editing", "sensitive:photos"):
            grant = ("consents", "grant", "ops", consent, "--source", "in-app", "--evidence", "t")
            assert cli(*grant).exit_code == 0
        assert cli("credits", "grant", "ops", "100", "--key", "g", "--reason", "t").exit_code == 0
        yield cluster, kling, cli


def _queue(cli: Cli, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        result = cli("generate", "--sample", "--no-wait", "--json", "--user", "ops")
        assert result.exit_code == 0, result.stderr
        ids.append(json.loads(result.stdout)["id"])
    return ids


def _query(cluster: Cluster, sql: str) -> list[Any]:
    engine = make_engine(cluster.url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    except Exception:
        return []
    finally:
        engine.dispose()


def _states(cluster: Cluster) -> list[str]:
    return sorted(state for (state,) in _query(cluster, "SELECT state FROM tasks"))


def test_a_worker_rides_out_an_outage_and_finishes_every_task_once(
    outage_rig: tuple[Cluster, FakeKling, Cli],
) -> None:
    cluster, kling, cli = outage_rig
    ids = _queue(cli, 3)
    with start("worker", "--idle", "0.2", "--concurrency", "2") as worker:
        wait_for(lambda: "submitted" in _states(cluster), "a task to reach Kling")
        cluster.stop()
        wait_for(lambda: worker.said("attempt 3,"), "three attempts through the outage")
        cluster.start()
        wait_for(lambda: _states(cluster) == ["succeeded"] * 3, "every task to succeed")
        worker.signal(signal.SIGTERM)
        code, _, err = worker.finish()

    assert code == 0, err
    assert "Traceback" not in err and "worker stopped on SIGTERM: 3 task(s) finished" in err
    attempts = [line for line in err.splitlines() if "; attempt " in line]
    assert len(attempts) >= 3 and all("lost the database" in line for line in attempts)
    assert "the database answers again" in err
    assert len(kling.requests_to("/v1/videos/image2video", "POST")) == len(ids)
    reconciled = cli("credits", "reconcile")
    assert reconciled.exit_code == 0, reconciled.stderr
    assert _query(cluster, "SELECT count(*) FROM tasks WHERE lease_owner IS NOT NULL") == [(0,)]


def test_a_worker_gives_up_after_the_setting_and_exits_1(
    outage_rig: tuple[Cluster, FakeKling, Cli], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, _, cli = outage_rig
    _queue(cli, 1)
    monkeypatch.setenv("LIVEAI_WORKER_DB_GIVE_UP_S", "3")
    with start("worker", "--idle", "0.2") as worker:
        wait_for(lambda: worker.said("worker starting"), "the worker to start")
        cluster.stop()
        code, _, err = worker.finish()
    assert code == 1, err
    assert "error: worker gave up: lost the database" in err and "Traceback" not in err


def test_generate_says_in_one_line_that_it_lost_the_database(
    outage_rig: tuple[Cluster, FakeKling, Cli],
) -> None:
    cluster, kling, _ = outage_rig
    kling.polls_to_finish = 1000
    with start("generate", "--sample", "--user", "ops", "--out", "/tmp") as generate:
        wait_for(lambda: "submitted" in _states(cluster), "the task to reach Kling")
        cluster.stop()
        code, _, err = generate.finish()
    assert code == 1, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: lost the database:") and "Traceback" not in err
