"""Revision 0020: old unkeyed chains are checked and resealed under the key; the app's
PostgreSQL role may append and redact audit events, never rewrite or delete them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic import command

from liveai import audit
from liveai.db import Database, alembic_config, make_engine, upgrade
from tests.conftest import _PostgresServer

BEFORE = "0012_one_head"


@pytest.fixture
def empty_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'old.db'}"


def _legacy_events(engine: sa.Engine, n: int) -> list[str]:
    """Events as code before 0020 wrote them: an unkeyed SHA-256 chain."""
    prev, hashes = audit.GENESIS_HASH, []
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for i in range(n):
            event = SimpleNamespace(
                action=f"old.{i}",
                actor="system",
                at=start + timedelta(minutes=i),
                user_id=uuid.UUID(int=i + 1),
                details={"i": i, "note": "旧"},
            )
            digest = audit.legacy_hash(event, prev)
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (at, actor, action, user_id, details, prev_hash, "
                    "hash) VALUES (:at, :actor, :action, :user_id, :details, :prev, :hash)"
                ),
                {
                    "at": event.at.replace(tzinfo=None),
                    "actor": event.actor,
                    "action": event.action,
                    "user_id": event.user_id.hex,
                    "details": json.dumps({"i": i, "note": "旧"}),
                    "prev": prev,
                    "hash": digest,
                },
            )
            prev = digest
            hashes.append(digest)
    return hashes


def test_an_intact_old_chain_is_resealed_under_the_key(empty_url: str) -> None:
    engine = make_engine(empty_url)
    command.upgrade(alembic_config(engine), BEFORE)
    _legacy_events(engine, 5)
    upgrade(engine)
    database = Database(engine)
    with database.transaction() as session:
        audit.record(session, "new.event")
        report = audit.verify_chain(session)
        events = audit.list_events(session)
    assert report.ok and report.checked == 6
    assert [e.details.get("note") for e in events[:5]] == ["旧"] * 5
    assert all(e.digest and e.salt for e in events)
    database.close()


def test_a_broken_old_chain_stops_the_upgrade(empty_url: str) -> None:
    engine = make_engine(empty_url)
    command.upgrade(alembic_config(engine), BEFORE)
    _legacy_events(engine, 3)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET action = 'forged' WHERE id = 2"))
    with pytest.raises(RuntimeError, match="broken at event 2"):
        upgrade(engine)
    engine.dispose()


@pytest.mark.postgres
def test_the_app_role_appends_and_redacts_but_cannot_rewrite(
    postgres_server: _PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = f"liveai_app_{uuid.uuid4().hex[:8]}"
    name = f"liveai_t_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create(name)
    with postgres_server.admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
    try:
        owner = make_engine(url)
        with owner.begin() as conn:
            conn.execute(sa.text(f'GRANT ALL ON SCHEMA public TO "{role}"'))
        monkeypatch.setenv("LIVEAI_DB_APP_ROLE", role)
        upgrade(owner)
        owner.dispose()
        app = Database(make_engine(sa.make_url(url).set(username=role).render_as_string(False)))
        with app.transaction() as session:
            audit.record(session, "appended", user_id=uuid.uuid4(), details={"k": 1})
        with app.transaction() as session:
            assert audit.redact(session, [e.id for e in audit.list_events(session)]) == 1
        for statement in (
            "UPDATE audit_events SET action = 'forged'",
            "UPDATE audit_events SET hash = repeat('0', 64)",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ):
            with (
                pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
                app.engine.begin() as conn,
            ):
                conn.execute(sa.text(statement))
        with app.transaction() as session:
            assert audit.verify_chain(session).ok
        app.close()
    finally:
        postgres_server.drop(name)
        with postgres_server.admin.connect() as conn:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))


def test_migrating_down_rewrites_the_chain_unkeyed(empty_url: str) -> None:
    engine = make_engine(empty_url)
    command.upgrade(alembic_config(engine), BEFORE)
    _legacy_events(engine, 3)
    upgrade(engine)
    database = Database(engine)
    with database.transaction() as session:
        audit.record(session, "keyed.event", details={"n": 1})
    command.downgrade(alembic_config(engine), BEFORE)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, at, actor, action, user_id, details, prev_hash, hash "
                "FROM audit_events ORDER BY id"
            )
        ).all()
    prev = audit.GENESIS_HASH
    for row in rows:
        event = SimpleNamespace(
            action=row.action,
            actor=row.actor,
            at=datetime.fromisoformat(row.at).replace(tzinfo=UTC),
            user_id=uuid.UUID(row.user_id) if row.user_id else None,
            details=json.loads(row.details),
        )
        assert row.prev_hash == prev and audit.legacy_hash(event, prev) == row.hash
        prev = row.hash
    assert len(rows) == 4
    database.close()
