"""Shared fixtures: an isolated environment, and fresh migrated databases on SQLite and PostgreSQL.

Each database test gets its own database, copied from a template migrated once per run
(a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests are isolated
and independent of order while the code under test opens its own connections.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from liveai.db import Database, make_engine, upgrade

pytest_plugins = ["tests.fakes.s3"]  # the S3 fixtures: s3_server, boto_session, s3_env, s3_faults

POSTGRES_URL = os.environ.get(
    "LIVEAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("LIVEAI_REQUIRE_POSTGRES", "") not in ("", "0")


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """No test sees the developer's settings: a fresh LIVEAI_HOME and no config file."""
    for name in list(os.environ):
        if name.startswith("LIVEAI_") and not name.startswith(("LIVEAI_TEST_", "LIVEAI_REQUIRE_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("LIVEAI_HOME", str(home))
    empty_config = tmp_path_factory.mktemp("config") / "liveai.toml"
    empty_config.write_text("")
    monkeypatch.setenv("LIVEAI_CONFIG", str(empty_config))
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@pytest.fixture(autouse=True)
def default_deadlines() -> Iterator[None]:
    """A command may switch the deadline zone or calendar file; the next test starts afresh."""
    yield
    from liveai.privacy.calendar import configure

    configure()


class _PostgresServer:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.template: str | None = None

    def url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[_PostgresServer]:
    server = _PostgresServer(POSTGRES_URL)
    try:
        with server.admin.connect():
            pass
    except Exception as exc:
        reason = f"PostgreSQL unreachable at {POSTGRES_URL}: {type(exc).__name__}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} (LIVEAI_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    yield server
    if server.template:
        server.drop(server.template)
    server.admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _postgres_template(server: _PostgresServer) -> str:
    if server.template is None:
        name = f"liveai_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        engine = make_engine(server.create(name))
        upgrade(engine)
        engine.dispose()
        server.template = name
    return server.template


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: _PostgresServer = request.getfixturevalue("postgres_server")
    name = f"liveai_t_{uuid.uuid4().hex[:12]}"
    yield server.create(name, template=_postgres_template(server))
    server.drop(name)


@pytest.fixture
def postgres_url(postgres_server: _PostgresServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, for tests that only make sense there."""
    name = f"liveai_t_{uuid.uuid4().hex[:12]}"
    yield postgres_server.create(name, template=_postgres_template(postgres_server))
    postgres_server.drop(name)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(make_engine(db_url))
    yield db
    db.close()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.transaction() as s:
        yield s


class Cli:
    """Runs `liveai` in-process against a given database."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, db_url: str | None) -> None:
        self.runner = CliRunner()
        if db_url:
            monkeypatch.setenv("LIVEAI_DATABASE_URL", db_url)

    def __call__(self, *args: str, input: str | None = None) -> Result:
        from liveai_cli.main import app

        return self.runner.invoke(app, list(args), input=input)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Cli:
    return Cli(monkeypatch, db_url)


@pytest.fixture
def cli_embedded(monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI with nothing configured: the embedded SQLite database under LIVEAI_HOME."""
    return Cli(monkeypatch, None)
