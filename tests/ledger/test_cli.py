from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from liveai import ledger
from liveai.clock import FixedClock
from liveai.db import Database, make_engine

ISS = "https://auth.example/oidc"


def _user(cli, sub: str = "ann") -> str:  # type: ignore[no-untyped-def]
    created = cli("users", "create", "--issuer", ISS, "--sub", sub, "--json")
    assert created.exit_code == 0, created.output
    return str(json.loads(created.stdout)["id"])


def test_grant_revoke_balance_history(cli) -> None:  # type: ignore[no-untyped-def]
    user_id = _user(cli)
    granted = cli("credits", "grant", "ann", "20", "--reason", "welcome", "--key", "w1")
    assert granted.exit_code == 0, granted.output
    assert "granted 20 credits" in granted.stderr
    again = cli("credits", "grant", "ann", "20", "--reason", "welcome", "--key", "w1")
    assert again.exit_code == 0 and "already granted 20 credits" in again.stderr
    assert cli("credits", "revoke", user_id, "5", "--reason", "duplicate").exit_code == 0
    shown = json.loads(cli("credits", "balance", "ann", "--json").stdout)
    assert shown == {"user_id": user_id, "available": 15, "pending": 0, "posted": 15}
    rows = json.loads(cli("credits", "history", "ann", "--json").stdout)
    assert [(r["kind"], r["delta"]) for r in rows] == [("correction", -5), ("grant", 20)]
    assert len(json.loads(cli("credits", "history", "ann", "--limit", "1", "--json").stdout)) == 1
    events = json.loads(cli("audit", "list", "--json").stdout)
    assert [e["action"] for e in events].count("credits.granted") == 1
    assert [e["action"] for e in events].count("credits.corrected") == 1


def test_revoke_beyond_balance_exits_5_and_writes_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    _user(cli)
    assert cli("credits", "grant", "ann", "3", "--reason", "r").exit_code == 0
    refused = cli("credits", "revoke", "ann", "4", "--reason", "too much")
    assert refused.exit_code == 5
    assert "fewer than 4 credits" in refused.stderr
    assert len(json.loads(cli("credits", "history", "ann", "--json").stdout)) == 1


def test_bad_input_exit_codes(cli) -> None:  # type: ignore[no-untyped-def]
    _user(cli)
    assert cli("credits", "grant", "ann", "0", "--reason", "r").exit_code == 2
    assert cli("credits", "grant", "ann", "-1", "--reason", "r").exit_code == 2
    assert cli("credits", "grant", "nobody", "1", "--reason", "r").exit_code == 3
    assert cli("credits", "balance", "nobody").exit_code == 3
    assert cli("credits", "grant", "ann", "2", "--reason", "r", "--key", "k").exit_code == 0
    conflict = cli("credits", "grant", "ann", "3", "--reason", "r", "--key", "k")
    assert conflict.exit_code == 1
    assert "amount differs" in conflict.stderr


def test_holds_expire_and_reconcile(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    user_id = _user(cli)
    db = Database(make_engine(db_url))
    past = FixedClock(datetime.now(UTC) - timedelta(hours=1))
    with db.transaction() as session:
        import uuid

        ledger.grant(session, uuid.UUID(user_id), 10, key="g", reason="r")
        for n, minutes in enumerate([5, 600]):
            ledger.hold(
                session, uuid.UUID(user_id), 2, key=f"h{n}", reference=f"task-{n}",
                timeout=timedelta(minutes=minutes), reason="gen", clock=past,
            )  # fmt: skip
    db.close()
    holds = json.loads(cli("credits", "holds", "--json").stdout)
    assert sorted(h["key"] for h in holds) == ["h0", "h1"]
    expired = cli("credits", "expire-holds")
    assert expired.exit_code == 0 and "1 hold expired" in expired.stderr
    assert [h["key"] for h in json.loads(cli("credits", "holds", "ann", "--json").stdout)] == ["h1"]
    report = cli("credits", "reconcile", "--json")
    assert report.exit_code == 0
    assert json.loads(report.stdout)["ok"] is True
    assert "ledger clean" in cli("credits", "reconcile").stderr


def test_reconcile_exits_1_on_a_tampered_balance(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _user(cli)
    assert cli("credits", "grant", "ann", "10", "--reason", "r").exit_code == 0
    engine = make_engine(db_url)
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text("UPDATE ledger_accounts SET credits_posted = 99 WHERE user_id IS NOT NULL")
        )
    engine.dispose()
    result = cli("credits", "reconcile")
    assert result.exit_code == 1
    assert "credits_posted" in result.stdout and "MISMATCH" in result.stderr
