"""Group commit: the steps of many tasks share transactions.

An audit append holds the chain's lock until its transaction commits, and settling a
task holds the user's balance row until then too, so steps that do either commit one at
a time however many tasks a worker drives (and any commit costs round trips and a log
flush). Handed to `run_grouped` instead, a step that arrives while a batch is committing
joins the next batch on that database: one transaction and one commit for all of them.

A batch writes every step's own rows first (the same statement for all its steps in one
round trip where nothing needs to be read back), then the rows steps share (balances, in
the order of their users, before the chain's lock as in every other transaction), then
all their events in one round trip, so the shared locks are held as briefly as they can
be. A step that raises is left out: the batch is rolled back and written again without
it, and only that step's caller sees the error.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import CursorResult
from sqlalchemy.orm import Session

from liveai import audit
from liveai.db import Database

T = TypeVar("T")


@dataclass(frozen=True)
class Write:
    """A statement a step runs for no result: a batch sends it for all its steps at once.
    With a ``refusal``, it must change exactly one row, else the step fails with that."""

    statement: Any
    params: Mapping[str, Any]
    refusal: Exception | None = None


@dataclass(frozen=True)
class Step(Generic[T]):
    """One task's part of a batch: ``writes`` and ``own`` write rows no other step touches,
    ``own`` giving the step's value; ``shared`` writes rows other steps may lock too
    (balances); ``order`` sorts the steps of a batch (the user's id); ``events`` go last."""

    order: str
    writes: Sequence[Write] = ()
    own: Callable[[Session], T] | None = None
    shared: Callable[[Session], None] | None = None
    events: Sequence[audit.Event] = ()


class _Refused(Exception):
    """A write sent for several steps changed fewer rows than it should have."""


@dataclass(eq=False)
class _Waiting(Generic[T]):
    step: Step[T]
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    value: T | None = None
    error: BaseException | None = None

    def finish(self, value: T | None = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error
        self.wake.set()

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


class GroupCommit:
    """Runs steps for any number of threads, in as few transactions as they allow."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Waiting[Any]] = []
        self._busy = False

    def run(self, database: Database, step: Step[T]) -> T:
        """Write ``step`` in a transaction (perhaps shared) and commit; its value."""
        waiting = _Waiting(step)
        with self._lock:
            self._queue.append(waiting)
            follow, self._busy = self._busy, True
        if follow:
            waiting.wake.wait()
            if not waiting.lead:
                return waiting.outcome()
        try:
            with self._lock:
                batch, self._queue = self._queue, []
            try:
                self._commit(database, batch)
            except BaseException as exc:  # nobody may wait for a batch that will not end
                for waiting in batch:
                    if not waiting.wake.is_set():
                        waiting.finish(error=exc)
                raise
        finally:
            with self._lock:
                if self._queue:  # the first step that waited leads the next batch
                    self._queue[0].lead = True
                    self._queue[0].wake.set()
                else:
                    self._busy = False
        return waiting.outcome()

    def _commit(self, database: Database, batch: list[_Waiting[Any]]) -> None:
        pending = sorted(batch, key=lambda waiting: waiting.step.order)
        together = True
        while pending:
            try:
                culprit = self._attempt(database, pending, together)
            except _Refused:  # write them one step at a time, to find whose it was
                together = False
                continue
            if culprit is None:
                return
            pending.remove(culprit)

    def _attempt(
        self, database: Database, pending: list[_Waiting[Any]], together: bool
    ) -> _Waiting[Any] | None:
        """Write the steps in one transaction; the step that raised (the others are to be
        written again), or None when every step is finished."""
        current: _Waiting[Any] | None = None
        values: list[Any] = []
        try:
            with database.transaction() as session:
                if together:
                    writes = [write for waiting in pending for write in waiting.step.writes]
                    _send(session, writes, together=True)
                for current in pending:
                    if not together:
                        _send(session, current.step.writes, together=False)
                    values.append(current.step.own(session) if current.step.own else None)
                for current in pending:
                    if current.step.shared is not None:
                        current.step.shared(session)
                current = None
                audit.record_many(session, [e for w in pending for e in w.step.events])
        except _Refused:
            raise
        except Exception as exc:
            if current is None:  # appending or committing failed: every step did
                for waiting in pending:
                    waiting.finish(error=exc)
                return None
            current.finish(error=exc)
            return current
        except BaseException as exc:
            for waiting in pending:
                waiting.finish(error=exc)
            raise
        for waiting, value in zip(pending, values, strict=True):
            waiting.finish(value)
        return None


def _send(session: Session, writes: Sequence[Write], *, together: bool) -> None:
    """Run the writes, a statement once with the parameters of every write that uses it.
    A guarded write that is refused raises its refusal, or _Refused when sent together."""
    connection = session.connection()
    batches: dict[tuple[int, bool], list[Write]] = {}
    for write in writes:
        batches.setdefault((id(write.statement), write.refusal is None), []).append(write)
    for (_, unguarded), batch in batches.items():
        params = [write.params for write in batch]
        result = connection.execute(batch[0].statement, params if len(params) > 1 else params[0])
        if unguarded or cast(CursorResult[Any], result).rowcount == len(batch):
            continue
        if together:
            raise _Refused()
        raise cast(Exception, batch[0].refusal)


_GROUPS: weakref.WeakKeyDictionary[Database, GroupCommit] = weakref.WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def run_grouped(database: Database, step: Step[T]) -> T:
    """`GroupCommit.run` with the steps of every other thread using ``database``."""
    with _GROUPS_LOCK:
        group = _GROUPS.get(database)
        if group is None:
            group = _GROUPS[database] = GroupCommit()
    return group.run(database, step)
