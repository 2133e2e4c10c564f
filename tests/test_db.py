from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from liveai.db import (
    Database,
    ensure_schema,
    head_revisions,
    make_engine,
    open_database,
    schema_state,
)
from liveai.errors import DatabaseUnavailable, SchemaAhead, SchemaBehind
from liveai.schema_check import model_differences
from liveai.settings import load_settings
from tests.conftest import Cli


def test_embedded_database_creates_and_upgrades_itself(isolated_env: Path) -> None:
    db = open_database(load_settings())
    assert (isolated_env / "liveai.db").exists()
    assert schema_state(db.engine).up_to_date
    db.close()


def test_migrated_database_matches_models(database: Database) -> None:
    assert schema_state(database.engine).current == head_revisions()
    assert model_differences(database.engine) == []


def test_model_drift_is_reported(database: Database) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("ALTER TABLE users ADD COLUMN stray INTEGER"))
    assert any("stray" in line for line in model_differences(database.engine))


@pytest.mark.postgres
def test_postgres_behind_schema_is_refused(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    with pytest.raises(SchemaBehind, match="liveai db upgrade"):
        ensure_schema(engine, auto_upgrade=False)
    engine.dispose()


def test_newer_schema_is_refused_and_left_alone(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999_future')"))
    with pytest.raises(SchemaAhead, match="9999_future"):
        ensure_schema(engine, auto_upgrade=True)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "9999_future"
    engine.dispose()


def test_unreachable_database_is_one_clear_error() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable, match="cannot reach the database"):
        ensure_schema(engine, auto_upgrade=False)


def test_cli_db_commands(cli: Cli) -> None:
    current = cli("db", "current", "--json")
    assert current.exit_code == 0, current.output
    assert '"up_to_date": true' in current.stdout
    assert cli("db", "upgrade").exit_code == 0
    check = cli("db", "check")
    assert check.exit_code == 0, check.output


def test_cli_db_check_fails_on_drift(cli: Cli, db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE identities ADD COLUMN stray INTEGER"))
    engine.dispose()
    result = cli("db", "check")
    assert result.exit_code == 1
    assert "stray" in result.stderr


def test_cli_refuses_unreachable_database(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_DATABASE_URL", "postgresql+psycopg://x@127.0.0.1:1/none")
    result = cli_embedded("users", "list")
    assert result.exit_code == 1
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.output


def test_single_statements_commit_on_their_own_on_postgresql_only(database: Database) -> None:
    """`statements()` is for one-statement work: on PostgreSQL each statement is committed
    as it runs (no transaction to undo); SQLite runs them in a transaction."""
    with database.transaction() as session:
        session.execute(text("CREATE TABLE probe (n INTEGER)"))
    with pytest.raises(RuntimeError), database.statements() as connection:
        connection.execute(text("INSERT INTO probe VALUES (1)"))
        raise RuntimeError("after the statement")
    with database.transaction() as session:
        kept = session.execute(text("SELECT count(*) FROM probe")).scalar_one()
    assert kept == (1 if database.dialect == "postgresql" else 0)


def test_the_schema_has_one_head() -> None:
    """Revisions built in parallel are joined by a merge revision, so `upgrade head` and
    `db current` speak of one revision."""
    from liveai.db import head_revisions

    assert len(head_revisions()) == 1
