"""What concurrent callers are told: one grant per key says "granted", the rest "already";
a sweep never reports as still held what a concurrent sweep is deleting."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from liveai import ledger
from liveai.db import Database, make_engine
from liveai.ledger.operations import recorded_here
from liveai.retention.uploads import sweep_uploads
from liveai.storage import DeleteReport, LocalStorage, Storage
from liveai.users import create_user
from tests.retention.test_retention import NOW, _live_uploads, _seed

CALLERS = 50


def test_of_concurrent_grants_with_one_key_only_one_is_told_granted(db_url: str) -> None:
    setup = Database(make_engine(db_url))
    with setup.transaction() as session:
        user_id = create_user(session, issuer="https://t", subject="racer").id
    told: list[bool] = []
    start = threading.Barrier(CALLERS)
    databases = [Database(make_engine(db_url)) for _ in range(5)]

    def grant(n: int) -> None:
        database = databases[n % len(databases)]
        start.wait()
        with database.transaction() as session:
            transfer = ledger.grant(session, user_id, 7, key="one-key", reason="race")
            fresh = recorded_here(session, transfer)
        told.append(fresh)

    threads = [threading.Thread(target=grant, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.close()
    assert len(told) == CALLERS and told.count(True) == 1
    with setup.transaction() as session:
        assert ledger.balance(session, user_id).available == 7
    setup.close()


class _Paused:
    """Storage whose first delete waits until told to go on (a sweep caught mid-batch)."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.inside = threading.Event()
        self.go_on = threading.Event()

    def delete_many(self, keys: Sequence[str]) -> DeleteReport:
        if not self.inside.is_set():
            self.inside.set()
            assert self.go_on.wait(60)
        return self.inner.delete_many(keys)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.postgres
def test_a_sweep_does_not_report_what_a_concurrent_sweep_is_deleting(
    postgres_url: str, tmp_path: Path
) -> None:
    database = Database(make_engine(postgres_url))
    local = LocalStorage(tmp_path / "storage")
    _seed(database, local, due=5)
    paused = _Paused(local)
    first: list[object] = []
    sweeping = threading.Thread(
        target=lambda: first.append(sweep_uploads(database, paused, now=NOW))  # type: ignore[arg-type]
    )
    sweeping.start()
    try:
        assert paused.inside.wait(60)  # the first sweep holds its batch, mid-delete
        second = sweep_uploads(database, local, now=NOW)
    finally:
        paused.go_on.set()
        sweeping.join()
    assert second.removed == 0 and second.overdue_left == 0 and second.warnings == []
    assert _live_uploads(database) == 0
    database.close()
