"""What a command needs from the environment, loaded only when it asks."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from liveai.db import Database
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


def deadlines() -> None:
    """Count request days in the configured zone, on the configured calendar file."""
    from liveai.privacy.calendar import configure

    configured = settings()
    configure(zone=configured.deadline_timezone, calendar_file=configured.calendar_file)


def actor() -> str:
    """Who runs this command, for the audit log: the operator's login, never a user's."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
