"""Transfers that are a transaction of their own, for callers with nothing else to write.

`Ledger(database).consume(...)` does what `ledger.consume(session, ...)` does, in a
transaction of its own. On PostgreSQL the common case is the one statement of `pg`, sent
in autocommit mode: one round trip, no ORM session, no BEGIN or COMMIT. That statement
writes everything or nothing (a taken key raises instead of being skipped, and the user's
row is not touched without its system shard), so whatever it leaves undone (a replay, an
overdraft, an unknown user, a first use of a shard, a refused claim) goes to the general
path in a transaction, which does it or explains why not. On SQLite every call takes the
general path.

Its caller is the app's backend, spending or holding credits with nothing else to write;
`bench/ledger.py` measures it. No command or worker uses it: each writes other rows in
the transaction that moves the credits.

Like a DB-API connection, a `Ledger` keeps one connection (checked out, and pinged, once)
and belongs to one thread at a time; close it when done. A connection lost mid-call is
replaced and the statement sent once more: its key makes a second run that finds the
first one committed a replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec

import psycopg
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.ledger import core, holds, operations, pg
from liveai.ledger.accounts import SystemAccount
from liveai.ledger.core import MAX_REASON, Spec, check_amount, check_text
from liveai.models import Transfer, TransferKind, TransferPhase

P = ParamSpec("P")


class Ledger:
    """Consumes, holds, posts and voids, each committed on its own."""

    def __init__(self, database: Database, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.database = database
        self.clock = clock
        self._one_statement = database.dialect == "postgresql"
        self._connection: Connection | None = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Give the connection back to the pool."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def consume(
        self, user_id: uuid.UUID, amount: int, *, key: str, reference: str, reason: str
    ) -> Transfer:
        """`ledger.consume`, committed."""
        spec = operations.single_spec(
            TransferKind.CONSUME, user_id, amount, direction="debit", reference=reference,
            reason=reason,
        )  # fmt: skip
        done = self._submit(spec, key, now=self.clock.now())
        return done or self._general(
            operations.consume,
            user_id,
            amount,
            key=key,
            reference=reference,
            reason=reason,
            clock=self.clock,
        )

    def hold(
        self,
        user_id: uuid.UUID,
        amount: int,
        *,
        key: str,
        reference: str,
        timeout: timedelta,
        reason: str,
    ) -> Transfer:
        """`ledger.hold`, committed."""
        spec = holds.hold_spec(user_id, amount, reference=reference, timeout=timeout, reason=reason)
        now = self.clock.now()
        done = self._submit(spec, key, now=now, expires_at=holds.expires(spec, now))
        return done or self._general(
            holds.hold, user_id, amount, key=key, reference=reference, timeout=timeout,
            reason=reason, clock=self.clock,
        )  # fmt: skip

    def post_hold(self, pending_key: str, *, key: str, amount: int | None = None) -> Transfer:
        """`ledger.post_hold`, committed."""
        wanted = None if amount is None else check_amount(amount)
        done = self._resolve(pending_key, TransferPhase.POST, key=key, amount=wanted)
        return done or self._general(
            holds.post_hold, pending_key, key=key, amount=amount, clock=self.clock
        )

    def void_hold(self, pending_key: str, *, key: str, reason: str) -> Transfer:
        """`ledger.void_hold`, committed."""
        cleaned = check_text(reason, "reason", MAX_REASON, required=True)
        done = self._resolve(pending_key, TransferPhase.VOID, key=key, reason=cleaned)
        return done or self._general(
            holds.void_hold, pending_key, key=key, reason=reason, clock=self.clock
        )

    def _submit(
        self, spec: Spec, key: str, *, now: datetime, expires_at: datetime | None = None
    ) -> Transfer | None:
        if not self._one_statement:
            return None
        sql, args = core.pg_submission(
            spec, key=core.check_key(key), system=SystemAccount.CONSUMED, actor="system",
            now=now, expires_at=expires_at, autocommit=True,
        )  # fmt: skip
        row = self._run(sql, args)
        if row is None or row[2] is None:
            return None
        return pg.detached(core.submitted(spec, args, row[0], row[1]))

    def _resolve(
        self,
        pending_key: str,
        phase: TransferPhase,
        *,
        key: str,
        amount: int | None = None,
        reason: str | None = None,
    ) -> Transfer | None:
        if not self._one_statement:
            return None
        sql, args = holds.pg_resolution(
            pending_key, phase, key=core.check_key(key), amount=amount, reason=reason,
            now=self.clock.now(), autocommit=True,
        )  # fmt: skip
        row = self._run(sql, args)
        if row is None:
            return None
        _, values, inserted = holds.resolved(row, phase, args)
        assert inserted, "an autocommit statement raises instead of skipping its insert"
        return pg.detached(values)

    def _run(self, sql: str, args: Mapping[str, Any]) -> Any:
        """The statement's row, committed on its own; None when it wrote nothing because a
        key was taken."""
        try:
            return self._execute(sql, args)
        except psycopg.OperationalError:
            if not self._lost():
                raise
            return self._execute(sql, args)

    def _execute(self, sql: str, args: Mapping[str, Any]) -> Any:
        if self._connection is None:
            engine = self.database.engine
            self._connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            return pg.fetch_one(self._connection.connection, sql, args)
        except psycopg.errors.UniqueViolation:
            return None

    def _lost(self) -> bool:
        """Whether the connection broke (then it is dropped, for a new one)."""
        if self._connection is None:
            return False
        raw = self._connection.connection.dbapi_connection
        if raw is not None and not getattr(raw, "broken", False):
            return False
        self._connection.invalidate()
        self.close()
        return True

    def _general(
        self,
        operation: Callable[Concatenate[Session, P], Transfer],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Transfer:
        with self.database.transaction() as session:
            return operation(session, *args, **kwargs)
