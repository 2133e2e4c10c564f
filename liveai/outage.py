"""Faults from outside that pass: a database that went away, a disk that filled up.

`describe` turns such an exception into the one-line error the CLI prints (instead of a
driver's traceback); `Backoff` paces the retries of a long-running worker through an
outage and says when it is time to give up.
"""

from __future__ import annotations

import errno
import random
import time
from dataclasses import dataclass, field

from liveai.errors import DatabaseUnavailable, InvalidInput, LiveAIError


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (not that a statement is wrong)."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def describe(exc: BaseException) -> LiveAIError | None:
    """The one-line error for an outside fault; None for anything else."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" writing {exc.filename}" if exc.filename else ""
        return LiveAIError(
            f"the disk is full{where}", hint="free some space, then rerun the same command"
        )
    if type(exc).__module__.startswith("sqlalchemy") and "disk is full" in str(exc):
        return LiveAIError(
            "the disk under the SQLite database is full",
            hint="free some space, then rerun the same command",
        )
    if type(exc).__module__.startswith("sqlalchemy") and is_database_outage(exc):
        return database_unavailable(exc)
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps what the driver raised
    if type(exc).__name__ == "DataError" and "out of range" in str(orig):
        return InvalidInput(
            f"a number or date given is out of range ({str(orig).splitlines()[0]})",
            hint="pass a smaller number, or a date in a year liveai can count in",
        )
    if isinstance(exc, OverflowError) or isinstance(orig, OverflowError):
        exc = orig if isinstance(orig, OverflowError) else exc
        return InvalidInput(
            f"a number or date given is out of range ({exc})",
            hint="pass a smaller number, or a date in a year liveai can count in",
        )
    return None


def database_unavailable(exc: BaseException) -> DatabaseUnavailable:
    if isinstance(exc, DatabaseUnavailable):
        return exc
    orig = getattr(exc, "orig", None)
    reason = (str(orig) if orig is not None else str(exc)).strip().splitlines()
    return DatabaseUnavailable(
        f"lost the database: {reason[0] if reason else type(exc).__name__}",
        hint="check that the server is up; rerun the same command to carry on",
    )


@dataclass
class Backoff:
    """Exponential waits with jitter, from ``first`` up to ``cap`` seconds, through one
    outage; ``exhausted`` once ``give_up_s`` have passed since its first failure."""

    first: float = 0.5
    cap: float = 15.0
    give_up_s: float = 300.0
    attempts: int = 0
    since: float | None = field(default=None)

    def failed(self) -> float:
        """Note a failure; the seconds to wait before the next attempt."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
        self.attempts += 1
        delay = min(self.first * 2 ** (self.attempts - 1), self.cap)
        return float(delay * random.uniform(0.8, 1.0))  # spreads the retries of many workers

    def succeeded(self) -> None:
        self.attempts, self.since = 0, None

    @property
    def exhausted(self) -> bool:
        return self.since is not None and time.monotonic() - self.since >= self.give_up_s

    @property
    def down_for(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since
