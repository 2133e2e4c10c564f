from __future__ import annotations

import hashlib
import json
import threading
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from liveai import audit
from liveai.db import Database
from liveai.models import AuditEvent
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


def test_each_event_hashes_its_content_and_the_previous_hash(database: Database) -> None:
    """Whoever computes the hash (Python on SQLite, the database on PostgreSQL), it is the
    SHA-256 of the event's canonical JSON, so old chains and both backends verify alike."""
    user = uuid.uuid4()
    details = {"task": "t-1", "note": "完成 \u2013 ok", "nested": {"b": [1, 2.5, None], "a": True}}
    with database.transaction() as session:
        audit.record(session, "first.event", details={"n": 1})
        audit.record(session, "task.succeeded", user_id=user, details=details, actor="cli:é")
    with database.transaction() as session:
        first, second = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    content = {
        "at": second.at.isoformat(),
        "actor": "cli:é",
        "action": "task.succeeded",
        "user_id": str(user),
        "details": details,
        "prev_hash": first.hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert second.prev_hash == first.hash and first.prev_hash == audit.GENESIS_HASH
    assert second.hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert second.details == details


def test_events_appended_together_extend_one_chain(database: Database) -> None:
    with database.transaction() as session:
        audit.record(session, "before")
        audit.record_many(session, [audit.Event(f"batch.{i}", details={"i": i}) for i in range(3)])
        audit.record(session, "after")
    with database.transaction() as session:
        actions = [e.action for e in audit.list_events(session)]
        report = audit.verify_chain(session)
    assert actions == ["before", "batch.0", "batch.1", "batch.2", "after"]
    assert report.ok and report.checked == 5


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


def test_audit_list_is_newest_first_limited_filtered_and_exports_csv(cli, db_url: str) -> None:
    import csv
    import io
    import json
    from datetime import UTC, datetime

    from liveai.db import make_engine

    database = Database(make_engine(db_url))
    with database.transaction() as session:
        for day in range(1, 61):
            at = datetime(2026, 10, 1, tzinfo=UTC).replace(day=1 + day % 28, month=10 + day // 29)
            kind = "request.opened" if day % 2 else "credits.granted"
            audit.record_many(session, [audit.Event(kind, details={"n": day}, at=at)])
    database.close()
    shown = json.loads(cli("audit", "list", "--json").stdout)
    assert len(shown) == 50 and [e["details"]["n"] for e in shown[:2]] == [60, 59]
    assert len(json.loads(cli("audit", "list", "--all", "--json").stdout)) == 60
    requests = json.loads(cli("audit", "list", "--action", "request.*", "--all", "--json").stdout)
    assert {e["action"] for e in requests} == {"request.opened"} and len(requests) == 30
    exact = json.loads(cli("audit", "list", "--action", "request", "--json").stdout)
    assert exact == []
    window = cli("audit", "list", "--since", "2026-10-05", "--until", "2026-10-07", "--json")
    days = sorted(e["at"][:10] for e in json.loads(window.stdout))
    assert days and set(days) <= {"2026-10-05", "2026-10-06"}
    assert all(e["at"].endswith("+00:00") for e in json.loads(window.stdout))  # exact UTC
    rows = list(csv.DictReader(io.StringIO(cli("audit", "list", "--limit", "3", "--csv").stdout)))
    assert [r["action"] for r in rows] == ["credits.granted", "request.opened", "credits.granted"]
    assert list(rows[0]) == ["id", "at", "actor", "action", "user_id", "details"]
    assert cli("audit", "list", "--since", "last week").exit_code == 2
