"""Random sequences of ledger operations keep the invariants and match a simple model."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from liveai import ledger
from liveai.clock import FixedClock
from liveai.db import Database
from liveai.errors import Conflict, InsufficientCredits, InvalidInput
from liveai.models import LedgerAccount, Transfer
from tests.ledger.helpers import T0, assert_invariants, new_user

USERS = 3
amounts = st.integers(min_value=1, max_value=12)
who = st.integers(min_value=0, max_value=USERS - 1)
operation = st.one_of(
    st.tuples(
        st.sampled_from(["grant", "refund", "purchase", "consume", "clawback"]), who, amounts
    ),
    st.tuples(st.just("correction"), who, st.integers(-12, 12).filter(bool)),
    st.tuples(st.just("hold"), who, amounts, st.integers(min_value=1, max_value=30)),
    st.tuples(st.just("post"), st.integers(0, 20), st.none() | amounts),
    st.tuples(st.just("void"), st.integers(0, 20)),
    st.tuples(st.just("tick"), st.integers(min_value=1, max_value=20)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("replay"), st.integers(0, 40)),
)


@dataclass
class Hold:
    key: str
    user: int
    amount: int
    expires_at: datetime
    state: str = "pending"


@dataclass
class Model:
    """What the ledger should say: posted balances and holds, expiry by the clock."""

    clock: FixedClock
    posted: list[int] = field(default_factory=lambda: [0] * USERS)
    holds: list[Hold] = field(default_factory=list)

    def live(self, hold: Hold) -> bool:
        return hold.state == "pending" and hold.expires_at > self.clock.now()

    def pending(self, user: int) -> int:
        return sum(h.amount for h in self.holds if h.user == user and self.live(h))

    def available(self, user: int) -> int:
        return self.posted[user] - self.pending(user)


class Run:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.model = Model(FixedClock(T0))
        with db.transaction() as session:
            self.users = [new_user(session) for _ in range(USERS)]
        self.done: list[tuple[Callable[..., Any], dict[str, Any], uuid.UUID]] = []
        self.n = 0

    def key(self) -> str:
        self.n += 1
        return f"{uuid.uuid4().hex[:8]}-{self.n}"

    def call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        kwargs["clock"] = self.model.clock
        with self.db.transaction() as session:
            result = fn(session, **kwargs)
        self.done.append((fn, kwargs, result.id))
        return result

    def step(self, op: tuple[Any, ...]) -> None:
        getattr(self, f"do_{op[0]}")(*op[1:])
        self.check_balances()

    def credit(self, name: str, user: int, amount: int) -> None:
        args: dict[str, Any] = {"user_id": self.users[user], "amount": amount}
        if name == "purchase":
            self.call(ledger.credit_purchase, **args, transaction_id=self.key(), product_id="p")
        else:
            fn = ledger.grant if name == "grant" else ledger.refund
            extra = {} if name == "grant" else {"reference": "task"}
            self.call(fn, **args, key=self.key(), reason="test", **extra)
        self.model.posted[user] += amount

    do_grant = lambda self, u, a: self.credit("grant", u, a)  # noqa: E731
    do_refund = lambda self, u, a: self.credit("refund", u, a)  # noqa: E731
    do_purchase = lambda self, u, a: self.credit("purchase", u, a)  # noqa: E731

    def debit(self, user: int, need: int, fn: Callable[..., Any], **kwargs: Any) -> bool:
        """Run a debit the model expects to succeed exactly when the credits are there."""
        fits = need <= self.model.available(user)
        try:
            self.call(fn, user_id=self.users[user], key=self.key(), **kwargs)
        except InsufficientCredits:
            assert not fits
            return False
        assert fits
        return True

    def do_consume(self, user: int, amount: int) -> None:
        if self.debit(user, amount, ledger.consume, amount=amount, reference="t", reason="gen"):
            self.model.posted[user] -= amount

    def do_correction(self, user: int, amount: int) -> None:
        if amount > 0:
            self.call(
                ledger.correction,
                user_id=self.users[user],
                amount=amount,
                key=self.key(),
                reason="fix",
            )
            self.model.posted[user] += amount
        elif self.debit(user, -amount, ledger.correction, amount=amount, reason="fix"):
            self.model.posted[user] += amount

    def do_clawback(self, user: int, amount: int) -> None:
        taken = min(amount, self.model.available(user))
        result = self.call(
            ledger.clawback, user_id=self.users[user], amount=amount, key=self.key(),
            reference="tx", reason="refund",
        )  # fmt: skip
        assert (result.amount, result.shortfall) == (taken, amount - taken)
        self.model.posted[user] -= taken

    def do_hold(self, user: int, amount: int, minutes: int) -> None:
        timeout = timedelta(minutes=minutes)
        if self.debit(
            user, amount, ledger.hold, amount=amount, reference="t", timeout=timeout, reason="gen"
        ):
            key = self.done[-1][1]["key"]
            expires = self.model.clock.now() + timeout
            self.model.holds.append(Hold(key, user, amount, expires))

    def resolve(self, index: int, fn: Callable[..., Any], **kwargs: Any) -> Hold | None:
        if not self.model.holds:
            return None
        hold = self.model.holds[index % len(self.model.holds)]
        live = self.model.live(hold)
        try:
            self.call(fn, pending_key=hold.key, key=self.key(), **kwargs)
        except Conflict:
            assert not live
            return None
        except InvalidInput:
            assert kwargs.get("amount", 0) > hold.amount
            return None
        assert live
        return hold

    def do_post(self, index: int, amount: int | None) -> None:
        hold = self.resolve(index, ledger.post_hold, amount=amount)
        if hold is not None:
            hold.state = "posted"
            self.model.posted[hold.user] -= hold.amount if amount is None else amount

    def do_void(self, index: int) -> None:
        hold = self.resolve(index, ledger.void_hold, reason="failed")
        if hold is not None:
            hold.state = "voided"

    def do_tick(self, minutes: int) -> None:
        self.model.clock.advance(timedelta(minutes=minutes))

    def do_expire(self) -> None:
        overdue = [h for h in self.model.holds if h.state == "pending" and not self.model.live(h)]
        with self.db.transaction() as session:
            ledger.expire_holds(session, clock=self.model.clock)  # earlier examples' too
            pending = {h.key for u in self.users for h in ledger.list_holds(session, u)}
        for hold in overdue:
            hold.state = "expired"
        assert pending == {h.key for h in self.model.holds if h.state == "pending"}

    def do_replay(self, index: int) -> None:
        if not self.done:
            return
        fn, kwargs, recorded = self.done[index % len(self.done)]
        before = self.snapshot()
        with self.db.transaction() as session:
            assert fn(session, **kwargs).id == recorded
        assert self.snapshot() == before

    def snapshot(self) -> tuple[Any, ...]:
        with self.db.transaction() as session:
            accounts = session.execute(
                select(LedgerAccount.id, LedgerAccount.debits_pending, LedgerAccount.debits_posted,
                       LedgerAccount.credits_pending, LedgerAccount.credits_posted)
                .order_by(LedgerAccount.id)
            ).all()  # fmt: skip
            return (session.scalar(select(func.count()).select_from(Transfer)), tuple(accounts))

    def check_balances(self) -> None:
        with self.db.transaction() as session:
            for n, user in enumerate(self.users):
                shown = ledger.balance(session, user, clock=self.model.clock)
                assert shown.posted == self.model.posted[n]
                assert shown.available == self.model.available(n) >= 0


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, max_size=25))
def test_random_operations_keep_the_invariants(
    database: Database, ops: list[tuple[Any, ...]]
) -> None:
    run = Run(database)
    for op in ops:
        run.step(op)
    with database.transaction() as session:
        assert_invariants(session)
