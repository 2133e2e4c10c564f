from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from liveai import audit
from liveai.db import Database
from liveai.errors import ConfigError
from liveai.models import AuditEvent
from liveai.users import create_user, rename_user
from tests.conftest import Cli


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


def test_each_event_is_an_hmac_over_its_digest_and_the_previous_hash(
    database: Database,
) -> None:
    """Whichever backend appends, the hash is the HMAC-SHA256 (under the settings' key) of
    the canonical JSON of action, actor, time, digest and previous hash; the digest is the
    SHA-256 of the salt, user id and details."""
    user = uuid.uuid4()
    details = {"task": "t-1", "note": "完成 \u2013 ok", "nested": {"b": [1, 2.5, None], "a": True}}
    with database.transaction() as session:
        audit.record(session, "first.event", details={"n": 1})
        audit.record(session, "task.succeeded", user_id=user, details=details, actor="cli:é")
    with database.transaction() as session:
        first, second = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert second.salt and len(second.salt) == 32 and second.salt != first.salt
    body = {"details": details, "salt": second.salt, "user_id": str(user)}
    digest = hashlib.sha256(_canonical(body).encode()).hexdigest()
    content = {
        "at": second.at.isoformat(),
        "actor": "cli:é",
        "action": "task.succeeded",
        "digest": digest,
        "prev_hash": first.hash,
    }
    expected = hmac.new(audit.chain_key(), _canonical(content).encode(), hashlib.sha256)
    assert second.digest == digest
    assert second.prev_hash == first.hash and first.prev_hash == audit.GENESIS_HASH
    assert second.hash == expected.hexdigest()
    assert second.details == details


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_key_comes_from_the_settings_or_a_private_file(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = audit.chain_key()
    key_file = isolated_env / "audit.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert bytes.fromhex(key_file.read_text().strip()) == made
    monkeypatch.setenv("LIVEAI_AUDIT_KEY", "k" * 40)
    assert audit.chain_key() == b"k" * 40
    monkeypatch.setenv("LIVEAI_AUDIT_KEY", "short")
    with pytest.raises(ConfigError, match="LIVEAI_AUDIT_KEY is shorter"):
        audit.chain_key()


def test_rewriting_an_event_and_its_hashes_without_the_key_is_caught(
    database: Database,
) -> None:
    """The review's attack: edit an event and recompute every hash after it. Without the
    key the recomputed hashes cannot match."""
    with database.transaction() as session:
        _seed(session)
    with database.transaction() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        forged = events[1]
        forged.details = {**forged.details, "name_changed": False}
        prev = events[0].hash
        for event in events[1:]:
            assert event.salt is not None
            event.digest = audit.content_digest(event.salt, event.user_id, event.details)
            guess = b"the attacker's guess at the key!"
            event.prev_hash = prev
            event.hash = audit.chain_hash(
                guess, event.at, event.actor, event.action, event.digest, prev
            )
            prev = event.hash
    with database.transaction() as session:
        report = audit.verify_chain(session)
    assert report.first_bad_id == events[1].id
    assert "content" in (report.reason or "")


def test_an_anchor_catches_events_cut_off_the_end(database: Database) -> None:
    with database.transaction() as session:
        _seed(session)
        head = audit.anchor(session)
    assert head.count == 4 and audit.Anchor.parse(str(head)) == head
    with database.transaction() as session:
        audit.record(session, "later.event")
    with database.transaction() as session:
        assert audit.verify_chain(session, [head]).ok  # appending keeps old anchors valid
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id >= 4"))
    with database.transaction() as session:
        assert audit.verify_chain(session).ok  # the shorter chain is intact in itself
        report = audit.verify_chain(session, [head])
    assert not report.ok and "removed" in (report.reason or "")


def test_a_redacted_event_keeps_the_chain_verifiable(database: Database) -> None:
    with database.transaction() as session:
        _seed(session)
    with database.transaction() as session:
        ids = session.scalars(select(AuditEvent.id).where(AuditEvent.user_id.is_not(None)))
        assert audit.redact(session, list(ids)) == 4
    with database.transaction() as session:
        report = audit.verify_chain(session)
        assert report.ok and report.redacted == 4
        assert all(e.user_id is None and e.details == {} for e in audit.list_events(session))
    with database.engine.begin() as conn:  # a "redacted" event may not say anything
        conn.execute(text("UPDATE audit_events SET details = '{\"x\": 1}' WHERE id = 2"))
    with database.transaction() as session:
        assert audit.verify_chain(session).first_bad_id == 2


def test_personal_data_is_refused_at_any_depth(session: Session) -> None:
    with pytest.raises(ValueError, match=r"changes\.to\.Email"):
        audit.record(session, "x", details={"changes": {"to": {"Email": "a@b.cn"}}})
    with pytest.raises(ValueError, match=r"people\[0\]\.display_name"):
        audit.record(session, "x", details={"people": [{"display_name": "Ann"}]})


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


def test_cli_verify_exits_1_on_tampering(cli: Cli, db_url: str, database: Database) -> None:
    with database.transaction() as session:
        _seed(session, 1)
    ok = cli("audit", "verify", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["checked"] == 2
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'intruder' WHERE id = 1"))
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert "audit event 1 was altered" in bad.stderr


def test_audit_list_is_newest_first_limited_filtered_and_exports_csv(cli: Cli, db_url: str) -> None:
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


def test_cli_anchor_then_verify_against_it(cli: Cli, tmp_path: Path, database: Database) -> None:
    with database.transaction() as session:
        _seed(session, 2)
    printed = cli("audit", "anchor")
    assert printed.exit_code == 0, printed.stderr
    anchors = tmp_path / "anchors.txt"
    anchors.write_text(printed.stdout)
    ok = cli("audit", "verify", "--anchor", str(anchors))
    assert ok.exit_code == 0 and "3 events and 1 anchor(s)" in ok.stderr
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = 3"))
    cut = cli("audit", "verify", "--anchor", printed.stdout.strip())
    assert cut.exit_code == 1 and "audit chain cut short" in cut.stderr
    junk = cli("audit", "verify", "--anchor", "12:nothex")
    assert junk.exit_code == 2 and "is not an audit anchor" in junk.stderr


def test_doctor_says_where_the_key_comes_from(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liveai.doctor import check_audit_key
    from liveai.settings import load_settings

    fresh = check_audit_key(load_settings())
    assert fresh.ok and "made at" in fresh.detail and not (isolated_env / "audit.key").exists()
    audit.chain_key()
    assert "back it up" in check_audit_key(load_settings()).detail
    monkeypatch.setenv("LIVEAI_AUDIT_KEY", "too short")
    bad = check_audit_key(load_settings())
    assert not bad.ok and "LIVEAI_AUDIT_KEY is shorter" in bad.detail


def test_processes_racing_to_make_the_key_file_share_one_key(tmp_path: Path) -> None:
    """The flake that found it: four threads appending first, each making the key file."""
    path = tmp_path / "home" / "audit.key"
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait()
        keys.append(audit._key_file(path))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert [p.name for p in path.parent.iterdir()] == ["audit.key"]
