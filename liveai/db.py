"""Engines, sessions and schema migrations (Alembic, configured in code)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from liveai.dburl import masked_url, parse_database_url, scrub
from liveai.errors import ConfigError, DatabaseUnavailable, SchemaAhead, SchemaBehind
from liveai.private_files import private_file, tighten
from liveai.settings import Settings

UPGRADE_HINT = "run `liveai db upgrade`"


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` (as hosting platforms hand them out) use psycopg 3."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = parse_database_url(url)
    try:
        if parsed.get_backend_name() != "sqlite":
            return create_engine(parsed, pool_pre_ping=True)
    except ArgumentError as exc:  # NoSuchModuleError too: a scheme with no driver
        raise ConfigError(
            f"the database URL {_scheme(url)}... is not one liveai can use: "
            f"{scrub(str(exc), parsed)}",
            hint="set LIVEAI_DATABASE_URL to postgresql+psycopg://... or sqlite:///...",
        ) from None
    if parsed.database and parsed.database != ":memory:":
        database = private_file(Path(parsed.database))
        for journal in ("-wal", "-shm"):
            tighten(database.with_name(database.name + journal))
    engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
    _make_sqlite_transactional(engine)
    return engine


def _scheme(url: str) -> str:
    """The URL up to its scheme's end, never its password."""
    return url.split("//", 1)[0] + "//" if "//" in url else "(no scheme)"


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy own transactions and take SQLite's write lock when they begin.

    pysqlite's own transaction handling defers BEGIN; BEGIN IMMEDIATE makes concurrent
    writers queue on the busy timeout instead of failing to upgrade a read lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")  # erased rows do not linger in free pages
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "liveai:migrations")
    config.attributes["engine"] = engine
    return config


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def revision_counts(current: set[str]) -> tuple[int, int]:
    """How many migrations `current` has applied, and how many there are."""
    script = ScriptDirectory.from_config(alembic_config())
    total = sum(1 for _ in script.walk_revisions())
    known = {rev.revision for rev in script.walk_revisions()}
    start = tuple(r for r in current if r in known)
    applied = sum(1 for _ in script.iterate_revisions(start, "base")) if start else 0
    return applied, total


def upgrade(engine: Engine) -> None:
    """Apply pending migrations; refuse a database that is newer than this code."""
    from alembic import command

    ping(engine)
    _refuse_ahead(schema_state(engine))
    command.upgrade(alembic_config(engine), "heads")


@dataclass(frozen=True)
class SchemaState:
    current: set[str]
    heads: set[str]
    unknown: set[str]

    @property
    def up_to_date(self) -> bool:
        return self.current == self.heads

    @property
    def ahead(self) -> bool:
        return bool(self.unknown)


def schema_state(engine: Engine) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    current = current_revisions(engine)
    return SchemaState(current=current, heads=head_revisions(), unknown=current - known)


class Database:
    """An engine and its session factory, with the schema checked before first use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def statements(self) -> Iterator[Connection]:
        """A connection for work of one statement, which commits on its own on PostgreSQL
        (no BEGIN, COMMIT or ROLLBACK round trips); a transaction on SQLite, whose write
        lock it needs."""
        if self.dialect != "postgresql":
            with self.engine.begin() as connection:
                yield connection
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()


def ping(engine: Engine) -> None:
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:  # unreachable, refused, or an option it does not know
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        embedded = engine.dialect.name == "sqlite"
        raise DatabaseUnavailable(
            f"cannot {'open' if embedded else 'reach'} the database at "
            f"{masked_url(engine.url)}: {scrub(reason, engine.url)}",
            hint="check that its disk has free space and its folder is writable"
            if embedded
            else "start the server or fix LIVEAI_DATABASE_URL",
        ) from None


def _refuse_ahead(state: SchemaState) -> None:
    if state.ahead:
        raise SchemaAhead(
            f"the database is at revision {', '.join(sorted(state.unknown))}, "
            "which this version of liveai does not know",
            hint="upgrade liveai, or point LIVEAI_DATABASE_URL at another database",
        )


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Refuse a database that is behind or ahead of this code; upgrade when allowed."""
    ping(engine)
    state = schema_state(engine)
    _refuse_ahead(state)
    if state.up_to_date:
        return
    if auto_upgrade:
        upgrade(engine)
        return
    raise SchemaBehind("the database schema is behind this version of liveai", hint=UPGRADE_HINT)


def open_database(settings: Settings, *, check_schema: bool = True) -> Database:
    """Open the configured database; the embedded SQLite one creates and upgrades itself."""
    engine = make_engine(settings.resolved_database_url)
    if check_schema:
        try:
            ensure_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
        except Exception:
            engine.dispose()
            raise
    return Database(engine)
