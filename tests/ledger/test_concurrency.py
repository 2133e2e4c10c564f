"""16 threads x 500 random operations on 20 users against a real PostgreSQL."""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from liveai import ledger
from liveai.errors import Conflict, InsufficientCredits
from liveai.models import LedgerAccount, Transfer
from tests.ledger.helpers import assert_invariants, new_user

THREADS, OPS, USERS, SHARED = 16, 500, 20, 150


class Workload:
    """Operations drawn at random; shared keys make threads race on the same transfer."""

    def __init__(self, sessions: sessionmaker[Session], users: list[uuid.UUID]) -> None:
        self.sessions = sessions
        self.users = users
        self.holds: list[str] = []
        self.lock = threading.Lock()
        self.seen: dict[str, set[uuid.UUID]] = defaultdict(set)
        self.outcomes: dict[str, int] = defaultdict(int)

    def run(self, seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(OPS):
            name, fn = rnd.choice(self.ops)
            try:
                with self.sessions.begin() as session:
                    key, transfer = fn(self, session, rnd)
            except (InsufficientCredits, Conflict) as exc:
                self.count(f"{name}:{type(exc).__name__}")
                continue
            if transfer is None:
                continue
            self.count(name)
            with self.lock:
                self.seen[key].add(transfer.id)
                if name == "hold":  # committed: other threads may now post or void it
                    self.holds.append(key)

    def count(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1

    def shared_grant(self, session: Session, rnd: random.Random) -> tuple[str, Any]:
        n = rnd.randrange(SHARED)  # same key, same content, from any thread
        user = self.users[n % USERS]
        key = f"shared-grant-{n}"
        return key, ledger.grant(session, user, 3 + n % 5, key=key, reason="promo")

    def consume(self, session: Session, rnd: random.Random) -> tuple[str, Any]:
        key = f"consume-{uuid.uuid4()}"
        user = rnd.choice(self.users)
        return key, ledger.consume(
            session, user, rnd.randint(1, 6), key=key, reference="t", reason="gen"
        )

    def shared_consume(self, session: Session, rnd: random.Random) -> tuple[str, Any]:
        n = rnd.randrange(SHARED)
        key = f"shared-consume-{n}"
        user = self.users[(n * 7) % USERS]
        return key, ledger.consume(
            session, user, 1 + n % 4, key=key, reference=f"t{n}", reason="gen"
        )

    def hold(self, session: Session, rnd: random.Random) -> tuple[str, Any]:
        n = rnd.randrange(SHARED * 4)  # holds replayed by other threads too
        key = f"hold-{n}"
        user = self.users[(n * 3) % USERS]
        held = ledger.hold(
            session, user, 1 + n % 6, key=key, reference=f"task-{n}",
            timeout=timedelta(minutes=10), reason="generation",
        )  # fmt: skip
        return key, held

    def resolve(self, session: Session, rnd: random.Random) -> tuple[str, Any]:
        with self.lock:
            if not self.holds:
                return "", None
            pending_key = rnd.choice(self.holds)
        if rnd.random() < 0.6:  # a fixed post key per hold: concurrent posts are replays
            key = f"{pending_key}:post"
            return key, ledger.post_hold(session, pending_key, key=key, amount=1)
        key = f"{pending_key}:void"
        return key, ledger.void_hold(session, pending_key, key=key, reason="failed")

    def clawback(self, session: Session, rnd: random.Random) -> tuple[str, Any]:
        key = f"clawback-{uuid.uuid4()}"
        user = rnd.choice(self.users)
        return key, ledger.clawback(
            session, user, rnd.randint(1, 10), key=key, reference="tx", reason="refund"
        )

    ops: ClassVar[list[tuple[str, Callable[..., tuple[str, Any]]]]] = [
        ("grant", shared_grant),
        ("grant", shared_grant),
        ("consume", consume),
        ("consume", shared_consume),
        ("hold", hold),
        ("hold", hold),
        ("resolve", resolve),
        ("resolve", resolve),
        ("clawback", clawback),
    ]


@pytest.mark.postgres
def test_concurrent_operations_never_overdraw(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=THREADS + 2)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as session:
        users = [new_user(session) for _ in range(USERS)]
        for n, user in enumerate(users):
            ledger.grant(session, user, 20, key=f"seed-{n}", reason="seed")
    work = Workload(sessions, users)
    failures: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            work.run(seed)
        except BaseException as exc:  # surfaced below: deadlocks, constraint violations
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert all(len(ids) == 1 for ids in work.seen.values())  # a key is one transfer
        assert work.outcomes["consume:InsufficientCredits"] > 0  # the guard was exercised
        assert work.outcomes["resolve:Conflict"] > 0  # posts raced voids
        with sessions.begin() as session:
            assert_invariants(session)
            keys = session.scalar(select(func.count(func.distinct(Transfer.key))))
            assert keys == session.scalar(select(func.count()).select_from(Transfer))
            accounts = session.execute(select(func.count()).select_from(LedgerAccount)).scalar_one()
            assert accounts > USERS
    finally:
        engine.dispose()
