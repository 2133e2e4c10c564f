from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from liveai import audit
from liveai.db import Database
from liveai.users import create_user, rename_user


def _seed(session: Session, n: int = 3) -> None:
    user = create_user(session, issuer="https://i/oidc", subject="s")
    for i in range(n):
        rename_user(session, user.id, f"name {i}")


def test_intact_chain_verifies(session: Session) -> None:
    _seed(session)
    report = audit.verify_chain(session)
    assert report.ok and report.checked == 4


def test_altered_content_names_the_event(database: Database) -> None:
    with database.transaction() as session:
        _seed(session)
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = 'user.deleted' WHERE id = 3"))
    with database.transaction() as session:
        report = audit.verify_chain(session)
    assert report.first_bad_id == 3
    assert "content" in (report.reason or "")


def test_removed_event_breaks_the_link(database: Database) -> None:
    with database.transaction() as session:
        _seed(session)
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = 2"))
    with database.transaction() as session:
        report = audit.verify_chain(session)
    assert report.first_bad_id == 3
    assert "link" in (report.reason or "")


def test_personal_data_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="personal data"):
        audit.record(session, "x", details={"email": "a@b.cn"})


def test_concurrent_appends_keep_one_chain(database: Database) -> None:
    def append(n: int) -> None:
        for i in range(10):
            with database.transaction() as session:
                audit.record(session, "test.event", details={"thread": n, "i": i})

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with database.transaction() as session:
        report = audit.verify_chain(session)
    assert report.ok and report.checked == 40


def test_cli_verify_exits_1_on_tampering(cli, db_url: str, database: Database) -> None:
    with database.transaction() as session:
        _seed(session, 1)
    ok = cli("audit", "verify", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["checked"] == 2
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'intruder' WHERE id = 1"))
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert "audit event 1 was altered" in bad.stderr
