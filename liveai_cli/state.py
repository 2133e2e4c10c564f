"""What a command needs from the environment, loaded only when it asks."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uuid
    from datetime import date, datetime

    from sqlalchemy.orm import Session

    from liveai.db import Database
    from liveai.generation import Lifecycle
    from liveai.settings import Settings


def settings() -> Settings:
    from liveai.settings import load_settings

    return load_settings()


@contextmanager
def database(*, check_schema: bool = True) -> Iterator[Database]:
    """The configured database, its connections closed when the command is done."""
    from liveai.db import open_database

    db = open_database(settings(), check_schema=check_schema)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def session() -> Iterator[Session]:
    """One transaction on the configured database: committed on success."""
    with database() as db, db.transaction() as s:
        yield s


@contextmanager
def lifecycle(progress: Callable[[uuid.UUID, str], None] | None = None) -> Iterator[Lifecycle]:
    """A Lifecycle on the configured database, storage and providers, closed afterwards."""
    from liveai.generation.lifecycle import no_progress
    from liveai.generation.runtime import build_lifecycle, http_client

    configured = settings()
    with database() as db, http_client(configured) as client:
        yield build_lifecycle(db, configured, client, progress=progress or no_progress)


def deadlines() -> None:
    """Count request days in the configured zone, on the configured calendar file."""
    from liveai.privacy.calendar import configure

    configured = settings()
    configure(zone=configured.deadline_timezone, calendar_file=configured.calendar_file)


def moment(value: str) -> datetime:
    """A moment the operator typed (a date, a local time, or ISO with a zone), read in the
    deadline zone as `deadlines()` set it: every command's --received, --since, --now, --at."""
    from liveai.moments import parse_moment
    from liveai.privacy.calendar import deadline_zone

    return parse_moment(value, deadline_zone())


def day(value: str) -> date:
    """The day a typed date or moment falls on in the deadline zone."""
    from liveai.privacy.calendar import receipt_date

    return receipt_date(moment(value))


def today() -> date:
    """Today in the deadline zone."""
    from liveai.clock import SYSTEM_CLOCK
    from liveai.privacy.calendar import deadline_zone

    return SYSTEM_CLOCK.now().astimezone(deadline_zone()).date()


def actor() -> str:
    """Who runs this command, for the audit log: the operator's login, never a user's."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
