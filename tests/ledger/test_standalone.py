"""`ledger.Ledger`: the hot operations, each committed on its own (one statement on
PostgreSQL), with the same outcomes as the session functions."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, NoReturn

import pytest
from sqlalchemy import delete, func, select, text

from liveai import ledger
from liveai.clock import FixedClock
from liveai.db import Database, make_engine
from liveai.errors import Conflict, InsufficientCredits, InvalidInput, LiveAIError
from liveai.models import LedgerAccount, Transfer
from tests.ledger.helpers import T0, assert_invariants, new_user

MINUTE = timedelta(minutes=1)


def _user(database: Database, credits: int) -> uuid.UUID:
    with database.transaction() as session:
        user = new_user(session)
        ledger.grant(session, user, credits, key=f"seed:{user}", reason="test")
    return user


def _state(database: Database, user: uuid.UUID) -> tuple[ledger.Balance, int, int]:
    with database.transaction() as session:
        transfers = session.scalar(select(func.count()).select_from(Transfer)) or 0
        accounts = session.scalar(select(func.count()).select_from(LedgerAccount)) or 0
        return ledger.balance(session, user), transfers, accounts


@pytest.fixture
def books(database: Database) -> Iterator[ledger.Ledger]:
    with ledger.Ledger(database) as opened:
        yield opened


def _check(database: Database) -> None:
    with database.transaction() as session:
        assert_invariants(session)


def test_operations_commit_and_return_the_recorded_transfer(
    database: Database, books: ledger.Ledger
) -> None:
    user = _user(database, 20)
    consumed = books.consume(user, 3, key="c1", reference="task-1", reason="generation")
    held = books.hold(user, 5, key="h1", reference="task-2", timeout=MINUTE, reason="generation")
    posted = books.post_hold("h1", key="h1:post", amount=4)
    books.hold(user, 2, key="h2", reference="task-3", timeout=MINUTE, reason="generation")
    voided = books.void_hold("h2", key="h2:void", reason="cancelled")
    with database.transaction() as session:
        assert ledger.balance(session, user) == ledger.Balance(available=13, pending=0, posted=13)
        for returned in (consumed, held, posted, voided):
            recorded = ledger.find_transfer(session, returned.key)
            assert recorded is not None
            now, then = ledger.transfer_to_dict(recorded), ledger.transfer_to_dict(returned)
            if returned is held:  # returned as placed; posted since
                assert (then.pop("state"), now.pop("state")) == ("pending", "posted")
            assert now == then
        assert ledger.get_hold(session, "h1").state is ledger.HoldState.POSTED
        assert ledger.get_hold(session, "h2").state is ledger.HoldState.VOIDED
    assert (posted.amount, posted.pending_id, voided.reason) == (4, held.id, "cancelled")
    _check(database)


def test_a_replay_changes_nothing_and_a_changed_request_names_the_field(
    database: Database, books: ledger.Ledger
) -> None:
    user = _user(database, 10)
    first = books.consume(user, 2, key="c1", reference="task-1", reason="generation")
    books.hold(user, 3, key="h1", reference="task-2", timeout=MINUTE, reason="generation")
    posted = books.post_hold("h1", key="h1:post")
    before = _state(database, user)
    assert books.consume(user, 2, key="c1", reference="task-1", reason="generation").id == first.id
    assert books.post_hold("h1", key="h1:post").id == posted.id
    with pytest.raises(Conflict, match="amount differs"):
        books.consume(user, 5, key="c1", reference="task-1", reason="generation")
    with pytest.raises(Conflict, match="already posted"):
        books.void_hold("h1", key="h1:void", reason="too late")
    assert _state(database, user) == before
    _check(database)


def test_an_overdraft_is_refused_and_writes_nothing(
    database: Database, books: ledger.Ledger
) -> None:
    user = _user(database, 4)
    books.hold(user, 3, key="h1", reference="task-1", timeout=MINUTE, reason="generation")
    before = _state(database, user)
    with pytest.raises(InsufficientCredits):
        books.consume(user, 2, key="c1", reference="task-2", reason="generation")
    with pytest.raises(InsufficientCredits):
        books.hold(user, 2, key="h2", reference="task-3", timeout=MINUTE, reason="generation")
    with pytest.raises(InvalidInput, match="cannot post 4 credits of a hold of 3"):
        books.post_hold("h1", key="h1:post", amount=4)
    with pytest.raises(InvalidInput, match="positive whole number"):
        books.consume(user, 0, key="c2", reference="task-4", reason="generation")
    assert _state(database, user) == before
    _check(database)


def test_an_expired_hold_is_released_and_cannot_be_posted(database: Database) -> None:
    clock = FixedClock(T0)
    user = _user(database, 5)
    with ledger.Ledger(database, clock=clock) as books:
        books.hold(user, 5, key="h1", reference="task-1", timeout=MINUTE, reason="generation")
        clock.advance(timedelta(minutes=2))
        with pytest.raises(Conflict, match="expired"):
            books.post_hold("h1", key="h1:post")
        # the overdue hold is released on the way: its credits pay for this
        books.consume(user, 5, key="c1", reference="task-2", reason="generation")
    assert _state(database, user)[0] == ledger.Balance(available=0, pending=0, posted=0)
    _check(database)


def test_the_first_use_of_a_system_shard_creates_it(
    database: Database, books: ledger.Ledger
) -> None:
    user = _user(database, 5)
    shard = LedgerAccount.code == ledger.SystemAccount.CONSUMED.value
    with database.transaction() as session:
        session.execute(delete(LedgerAccount).where(shard))  # as before any consumption
    books.consume(user, 2, key="c1", reference="task-1", reason="generation")
    assert _state(database, user)[0].available == 3
    with database.transaction() as session:
        assert session.scalar(select(func.count()).where(shard)) == 1
    _check(database)


@pytest.mark.postgres
def test_postgresql_needs_no_transaction_for_the_common_case(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(make_engine(postgres_url))
    books = ledger.Ledger(database)
    user = _user(database, 10)
    books.consume(user, 1, key="warm", reference="task-0", reason="generation")  # makes the shard

    def general(*_: Any, **__: Any) -> NoReturn:
        raise AssertionError("the common case took the general path")

    monkeypatch.setattr(ledger.Ledger, "_general", general)
    books.consume(user, 2, key="c1", reference="task-1", reason="generation")
    books.hold(user, 3, key="h1", reference="task-2", timeout=MINUTE, reason="generation")
    books.post_hold("h1", key="h1:post", amount=2)
    books.hold(user, 1, key="h2", reference="task-3", timeout=MINUTE, reason="generation")
    books.void_hold("h2", key="h2:void", reason="cancelled")
    with pytest.raises(AssertionError, match="general path"):  # a replay is not common
        books.consume(user, 2, key="c1", reference="task-1", reason="generation")
    books.close()
    assert _state(database, user)[0].available == 5
    _check(database)
    database.close()


@pytest.mark.postgres
def test_concurrent_standalone_operations_never_overdraw(postgres_url: str) -> None:
    database = Database(make_engine(postgres_url))
    users = [_user(database, 30) for _ in range(4)]
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        with ledger.Ledger(database) as books:
            run(books, random.Random(seed))

    def run(books: ledger.Ledger, rnd: random.Random) -> None:
        for n in range(120):
            user = rnd.choice(users)
            key = f"k{rnd.randrange(60)}"  # threads replay and race for the same keys
            try:
                if n % 2:
                    books.consume(user, rnd.randint(1, 4), key=key, reference="t", reason="r")
                else:
                    books.hold(user, 3, key=f"h{key}", reference="t", timeout=MINUTE, reason="r")
                    books.post_hold(f"h{key}", key=f"h{key}:post", amount=rnd.randint(1, 3))
            except LiveAIError:
                pass  # overdrafts, conflicting replays, holds already resolved
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    _check(database)
    with database.transaction() as session:
        spent = sum(30 - ledger.balance(session, user).available for user in users)
    assert spent > 0
    database.close()


@pytest.mark.postgres
def test_a_lost_connection_is_replaced_and_the_transfer_made_once(postgres_url: str) -> None:
    database = Database(make_engine(postgres_url))
    user = _user(database, 10)
    with ledger.Ledger(database) as books:
        books.consume(user, 1, key="c1", reference="task-1", reason="generation")
        with database.engine.connect() as other:  # as a server restart would
            other.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        books.consume(user, 2, key="c2", reference="task-2", reason="generation")
        assert books.consume(user, 2, key="c2", reference="task-2", reason="generation")
    assert _state(database, user)[0].available == 7
    _check(database)
    database.close()
