"""The request register as compliance staff use it: each reported defect, reproduced."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.clock import FixedClock
from liveai.db import Database, make_engine
from liveai.errors import Conflict
from liveai.models import AuditEvent, PrivacyRequest, RequestKind, RequestState
from liveai.privacy import requests as reg
from liveai.privacy import steps as manual
from liveai.users import create_user
from tests.conftest import Cli

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _today() -> date:
    return datetime.now(SHANGHAI).date()


def _user(cli: Cli, sub: str, *extra: str) -> str:
    made = cli("users", "create", "--issuer", "https://i/oidc", "--sub", sub, *extra, "--json")
    assert made.exit_code == 0, made.output
    return str(json.loads(made.stdout)["id"])


def _open(
    cli: Cli, user: str, kind: str = "deletion", received: str | None = None
) -> dict[str, Any]:
    received = received or _today().isoformat()
    opened = cli(
        "requests", "open", "--user", user, "--kind", kind, "--received", received,
        "--channel", "email", "--json",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    return dict(json.loads(opened.stdout))


def _state(cli: Cli, request_id: str) -> dict[str, Any]:
    return dict(json.loads(cli("requests", "show", request_id, "--json").stdout))


def _actions(db_url: str) -> list[str]:
    database = Database(make_engine(db_url))
    with database.transaction() as session:
        found = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    database.close()
    return found


# 1. Declining at the confirmation changes nothing; Ctrl-C exits 130.
def test_declining_a_run_changes_nothing_and_ctrl_c_exits_130(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liveai_cli import output

    monkeypatch.setattr(output, "interactive", lambda: True)
    _user(cli, "decliner")
    request = _open(cli, "decliner")
    assert cli("requests", "verify", request["id"], "--note", "by phone").exit_code == 0
    before = _actions(db_url)
    declined = cli("requests", "run", request["id"], input="n\n")
    assert declined.exit_code == 1 and "nothing changed" in declined.stderr
    interrupted = cli("requests", "run", request["id"], input="")  # EOF: what click sees on ^C
    assert interrupted.exit_code == 130 and "interrupted" in interrupted.stderr
    assert "Aborted" not in interrupted.output
    assert _state(cli, request["id"])["state"] == "verified"
    assert _actions(db_url) == before
    assert cli("users", "show", "decliner").exit_code == 0


# 2. A late completion is recorded as late, in working days.
def test_completion_records_the_day_and_whether_it_was_on_time(session: Session) -> None:
    user = create_user(session, issuer="https://i/oidc", subject="late")
    opened_at = FixedClock(datetime(2026, 9, 14, 10, 0, tzinfo=SHANGHAI))
    request = reg.open_request(
        session, user.id, kind=RequestKind.EXPORT, received_at=opened_at.now(),
        channel="email", working_days=15, clock=opened_at,
    )  # fmt: skip
    assert request.due_on == date(2026, 10, 10)
    reg.verify_manually(session, request, "reply from the address on file", clock=opened_at)
    late = FixedClock(datetime(2026, 11, 4, 9, 0, tzinfo=SHANGHAI))  # 25 days after due
    reg.complete(session, request, note="waited for the provider's archive", clock=late)
    assert request.completed_on == date(2026, 11, 4) and request.on_time is False
    shown = reg.RequestView(request, date(2026, 11, 5)).as_dict()
    assert shown["on_time"] is False and shown["overdue"] is False
    assert shown["working_days_late"] == 18
    assert shown["completion_note"] == "waited for the provider's archive"
    completed = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "request.completed")
    ).one()
    assert completed.details["on_time"] is False and completed.details["working_days_late"] == 18


def test_completion_late_in_the_evening_counts_the_day_in_shanghai(session: Session) -> None:
    user = create_user(session, issuer="https://i/oidc", subject="edge")
    at = FixedClock(datetime(2026, 9, 14, 10, 0, tzinfo=SHANGHAI))
    request = reg.open_request(
        session, user.id, kind=RequestKind.EXPORT, received_at=at.now(),
        channel="email", working_days=15, clock=at,
    )  # fmt: skip
    reg.verify_manually(session, request, "ok", clock=at)
    due_evening_utc = FixedClock(datetime(2026, 10, 10, 15, 59, tzinfo=UTC))  # 23:59 Shanghai
    reg.complete(session, request, clock=due_evening_utc)
    assert request.completed_on == date(2026, 10, 10) and request.on_time is True


# 3 and 4. Steps left by hand keep the request open; an erasure settles the request.
def test_manual_steps_keep_a_deletion_open_until_confirmed(cli: Cli, db_url: str) -> None:
    _user(cli, "leaver", "--email", "leaver@privaterelay.appleid.com")
    request = _open(cli, "leaver@privaterelay.appleid.com")
    assert cli("requests", "verify", request["id"], "--note", "from the app").exit_code == 0
    ran = cli("requests", "run", request["id"], "--yes")
    assert ran.exit_code == 0, ran.output
    assert f"request {request['id']} awaits" in ran.stderr
    assert _state(cli, request["id"])["state"] == "awaiting_manual"
    listed = json.loads(cli("requests", "list", "--json").stdout)
    assert [r["id"] for r in listed] == [request["id"]]  # still open: the clock runs
    steps = json.loads(cli("requests", "steps", request["id"], "--json").stdout)
    assert [(s["key"], s["open"]) for s in steps] == [("apple", True), ("logto", True)]
    early = cli("requests", "complete", request["id"])
    assert early.exit_code == 1 and "by hand" in early.stderr
    assert cli("requests", "confirm", request["id"], "apple", "--note", " ").exit_code == 2
    first = cli("requests", "confirm", request["id"], "apple", "--note", "revoked in Settings")
    assert first.exit_code == 0, first.output
    assert _state(cli, request["id"])["state"] == "awaiting_manual"
    again = cli("requests", "confirm", request["id"], "1", "--note", "twice")
    assert again.exit_code == 1 and "already confirmed" in again.stderr
    assert cli("requests", "confirm", request["id"], "fax", "--note", "x").exit_code == 3
    last = cli("requests", "confirm", request["id"], "2", "--note", "deleted in Logto console")
    assert last.exit_code == 0 and "completed" in last.stderr
    done = _state(cli, request["id"])
    assert done["state"] == "completed" and done["on_time"] is True
    assert done["completed_on"] == _today().isoformat()
    actions = _actions(db_url)
    assert actions.count("request.step_confirmed") == 2
    assert actions.index("request.awaiting_manual") < actions.index("request.completed")


def test_users_erase_finishes_the_users_open_deletion_request(cli: Cli) -> None:
    _user(cli, "asker")
    request = _open(cli, "asker")
    assert cli("requests", "verify", request["id"], "--note", "by phone").exit_code == 0
    erased = cli("users", "erase", "asker", "--yes", "--json")
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout)["request_state"] == "awaiting_manual"
    assert f"request {request['id']} awaits" in erased.stderr
    shown = _state(cli, request["id"])
    assert shown["state"] == "awaiting_manual"


def test_users_erase_links_an_unverified_request(cli: Cli, db_url: str) -> None:
    _user(cli, "unverified")
    request = _open(cli, "unverified", kind="guardian")
    erased = cli("users", "erase", "unverified", "--yes", "--json")
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout)["request_state"] == "linked"
    assert f"request {request['id']} is not verified" in erased.stderr
    assert _state(cli, request["id"])["state"] == "received"
    assert "request.erasure_linked" in _actions(db_url)


def test_confirm_refuses_a_request_with_no_steps(session: Session) -> None:
    user = create_user(session, issuer="https://i/oidc", subject="nosteps")
    at = FixedClock(datetime(2026, 9, 14, 10, 0, tzinfo=SHANGHAI))
    request = reg.open_request(
        session, user.id, kind=RequestKind.EXPORT, received_at=at.now(),
        channel="email", working_days=15, clock=at,
    )  # fmt: skip
    reg.verify_manually(session, request, "ok", clock=at)
    manual.finish_work(session, request, [], clock=at)
    assert request.state is RequestState.COMPLETED
    with pytest.raises(Exception, match="no step"):
        manual.confirm_step(session, request, "apple", "note", clock=at)
    with pytest.raises(Conflict):
        reg.complete(session, request, clock=at)


# 6. Dates in the deadline zone, named; --received takes a date, a local or a zoned time.
def test_received_is_read_and_shown_in_the_deadline_zone(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user(cli, "zoned")
    by_date = _open(cli, "zoned", received="2026-10-20")
    assert by_date["received_at"] == "2026-10-19T16:00:00+00:00"  # JSON: exact UTC
    assert by_date["zone"] == "Asia/Shanghai" and by_date["received_on"] == "2026-10-20"
    local = _open(cli, "zoned", received="2026-10-20T09:30")
    assert local["received_at"] == "2026-10-20T01:30:00+00:00"
    utc_evening = _open(cli, "zoned", received="2026-10-19T20:00Z")
    assert utc_evening["received_at"] == "2026-10-19T20:00:00+00:00"
    assert utc_evening["received_on"] == "2026-10-20"
    table = cli("requests", "list")
    assert "2026-10-20 09:30:00 Asia/Shanghai" in table.stdout  # people: the deadline zone
    bad = cli("requests", "open", "--user", "zoned", "--kind", "export", "--received",
              "20/10/2026", "--channel", "email")  # fmt: skip
    assert bad.exit_code == 2 and "2026-10-20T09:30" in bad.stderr
    monkeypatch.setenv("LIVEAI_DEADLINE_TIMEZONE", "Europe/Berlin")
    berlin = _state(cli, local["id"])
    assert berlin["zone"] == "Europe/Berlin" and berlin["received_at"] == local["received_at"]
    shown = cli("requests", "show", local["id"]).stdout
    assert "2026-10-20 03:30:00 Europe/Berlin" in shown
    monkeypatch.setenv("LIVEAI_DEADLINE_TIMEZONE", "Mars/Olympus")
    assert cli("requests", "list").exit_code == 1


def test_retention_now_reads_moments_like_received(cli: Cli) -> None:
    dated = cli("retention", "status", "--now", "2026-12-01", "--json")
    assert dated.exit_code == 0, dated.output
    assert cli("retention", "status", "--now", "2026-12-01T09:30", "--json").exit_code == 0
    assert cli("retention", "status", "--now", "yesterday").exit_code == 2


# 7. --strict for cron and monitoring.
def test_list_strict_fails_on_overdue_or_due_soon(cli: Cli) -> None:
    _user(cli, "cron")
    fresh = _open(cli, "cron", kind="export")
    assert cli("requests", "list", "--strict").exit_code == 0
    assert cli("requests", "list", "--due-within", "40", "--strict").exit_code == 1
    old = (_today() - timedelta(days=60)).isoformat()
    stale = _open(cli, "cron", kind="export", received=old)
    strict = cli("requests", "list", "--strict")
    assert strict.exit_code == 1 and "overdue" in strict.stderr
    assert stale["id"] in strict.stdout and fresh["id"] in strict.stdout
    assert cli("requests", "list", "--overdue").exit_code == 0


# 9. Find the person by e-mail; the list masks subjects and never cuts ids.
def test_users_are_found_by_email_and_ambiguity_is_reported(cli: Cli) -> None:
    relay = "x7k2p9@privaterelay.appleid.com"
    first = _user(cli, "apple-1", "--email", relay, "--name", "Ann Lee")
    shown = cli("users", "show", relay.upper(), "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == first
    request = _open(cli, relay)
    assert request["user_id"] == first
    second = _user(cli, "apple-2", "--email", relay)
    both = cli("users", "show", relay)
    assert both.exit_code == 1 and first in both.stderr and second in both.stderr
    assert cli("users", "show", "nobody@example.com").exit_code == 3


def test_the_list_masks_subjects_marks_overdue_and_keeps_ids_whole(cli: Cli) -> None:
    _user(cli, "masked", "--email", "ann.lee@example.com", "--name", "Ann Lee")
    old = (_today() - timedelta(days=60)).isoformat()
    request = _open(cli, "masked", received=old)
    table = cli("requests", "list")
    assert request["id"] in table.stdout and "A** L**" in table.stdout
    assert "Ann Lee" not in table.stdout and "OVERDUE" in table.stdout
    assert "Ann Lee" in cli("requests", "list", "--reveal").stdout
    rows = list(csv.DictReader(io.StringIO(cli("requests", "list", "--csv").stdout)))
    assert rows[0]["id"] == request["id"] and rows[0]["subject"] == "A** L**"
    assert rows[0]["overdue"] == "true" and rows[0]["kind"] == "deletion"
    assert int(rows[0]["working_days_left"]) < 0


# 8. The operator's own calendar file, checked on load and named by `calendar status`.
def test_an_operator_calendar_file_is_used_and_named(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "calendar.toml"
    own.write_text(
        'version = "ops.2027.1"\n[years.2027]\n'
        "days_off = [2027-01-01]\nworking_weekends = [2027-01-02]\n"
    )
    monkeypatch.setenv("LIVEAI_CALENDAR_FILE", str(own))
    status = cli("calendar", "status", "--today", "2026-11-10", "--json")
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)
    assert shown["calendar_file"] == str(own) and shown["calendar_version"] == "ops.2027.1"
    assert 2027 in shown["known_years"] and shown["warning"] is None
    due = json.loads(cli("calendar", "due", "2026-12-31", "--days", "1", "--json").stdout)
    assert due["due_on"] == "2027-01-02"  # the make-up Saturday the file declares
    own.write_text('version = "bad"\n[years.2027]\nworking_weekends = [2027-01-04]\n')
    broken = cli("calendar", "status")
    assert broken.exit_code == 1
    assert str(own) in broken.stderr and "2027-01-04 is not a Saturday or Sunday" in broken.stderr


def test_the_packaged_calendar_is_named_when_no_file_is_set(cli: Cli) -> None:
    shown = json.loads(cli("calendar", "status", "--json").stdout)
    assert shown["calendar_file"].endswith("cn_calendar.toml (packaged)")


def test_open_from_app_enters_the_same_register(session: Session) -> None:
    from liveai.identity.tokens import Principal, VerifiedToken

    user = create_user(session, issuer="https://i/oidc", subject="in-app")
    token = VerifiedToken(provider="logto", issuer="https://i/oidc", subject="in-app", claims={})
    clock = FixedClock(datetime(2026, 9, 14, 2, 0, tzinfo=UTC))
    request = reg.open_from_app(session, Principal(user, token), RequestKind.DELETION, clock=clock)
    assert request.channel == "in-app" and request.verification == "jwt"
    assert request.state is RequestState.VERIFIED and request.received_at == clock.now()
    assert request.due_on == date(2026, 10, 10)
    kept = session.get_one(PrivacyRequest, request.id)
    assert kept.user_id == user.id


def test_the_erasure_settles_its_request_in_its_own_last_transaction(
    cli: Cli, db_url: str, isolated_env: Path
) -> None:
    import uuid

    from liveai.privacy.erasure import Eraser, Upstream
    from liveai.storage import LocalStorage

    user_id = _user(cli, "crashed")
    request = _open(cli, "crashed")
    assert cli("requests", "verify", request["id"], "--note", "by phone").exit_code == 0
    database = Database(make_engine(db_url))
    with database.transaction() as session:
        reg.begin_work(session, reg.get_request(session, request["id"]))
    storage = LocalStorage(isolated_env / "storage")
    run = Eraser(database, storage, Upstream()).run(
        uuid.UUID(user_id), request_id=uuid.UUID(request["id"])
    )
    database.close()  # a crash now leaves nothing for a rerun to settle
    assert run.report["request_state"] == "awaiting_manual" and run.request_id is None
    assert _state(cli, request["id"])["state"] == "awaiting_manual"
    steps = json.loads(cli("requests", "steps", request["id"], "--json").stdout)
    assert [s["key"] for s in steps] == ["apple", "logto"]
