from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.clock import FixedClock
from liveai.db import Database
from liveai.errors import Conflict, InvalidInput, NotFound
from liveai.models import AuditEvent, PrivacyRequest, RequestKind, RequestState
from liveai.privacy import requests as reg
from liveai.users import create_user
from tests.conftest import Cli

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = FixedClock(datetime(2026, 9, 20, 10, 0, tzinfo=SHANGHAI))


def _open(
    session: Session, *, region: str = "cn", kind: RequestKind = RequestKind.DELETION
) -> PrivacyRequest:
    user = create_user(session, issuer="https://i/oidc", subject="subj")
    return reg.open_request(
        session,
        user.id,
        kind=kind,
        received_at=datetime(2026, 9, 14, 23, 30, tzinfo=SHANGHAI),
        channel="email",
        region=region,
        working_days=15,
        clock=NOW,
    )


def test_open_fixes_the_deadline(session: Session) -> None:
    request = _open(session)
    assert request.state is RequestState.RECEIVED
    assert request.received_on == date(2026, 9, 14)
    assert request.due_on == date(2026, 10, 10)
    assert not request.due_provisional


def test_lifecycle_is_audited(session: Session) -> None:
    request = _open(session)
    reg.verify_manually(session, request, "replied from the registered address", clock=NOW)
    reg.transition(session, request, RequestState.IN_PROGRESS, clock=NOW)
    reg.transition(session, request, RequestState.COMPLETED, clock=NOW)
    assert request.completed_at == NOW.now()
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.user_id == request.user_id)
    ).all()
    assert actions[-4:] == [
        "request.opened",
        "request.verified",
        "request.in_progress",
        "request.completed",
    ]


def test_illegal_transitions_are_refused(session: Session) -> None:
    request = _open(session)
    with pytest.raises(Conflict, match="cannot become completed"):
        reg.transition(session, request, RequestState.COMPLETED, clock=NOW)
    reg.refuse(session, request, "could not verify identity", clock=NOW)
    with pytest.raises(Conflict):
        reg.verify_manually(session, request, "late", clock=NOW)


def test_refusal_needs_a_reason(session: Session) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        reg.refuse(session, _open(session), "  ", clock=NOW)


def test_only_gdpr_requests_extend_and_only_in_the_first_month(session: Session) -> None:
    cn = _open(session)
    with pytest.raises(InvalidInput, match="region eu"):
        reg.extend(session, cn, "complex", clock=NOW)


def test_gdpr_extension(database: Database) -> None:
    with database.transaction() as session:
        eu = _open(session, region="eu")
        assert eu.gdpr_due_on == date(2026, 10, 14)
        reg.extend(session, eu, "many works to collect", clock=NOW)
        assert eu.state is RequestState.EXTENDED
        assert eu.due_on == date(2026, 12, 14)
    with database.transaction() as session:
        late = FixedClock(datetime(2026, 10, 20, tzinfo=SHANGHAI))
        other = create_user(session, issuer="https://i/oidc", subject="other")
        req = reg.open_request(
            session,
            other.id,
            kind=RequestKind.EXPORT,
            channel="in-app",
            region="eu",
            received_at=datetime(2026, 9, 14, tzinfo=SHANGHAI),
            working_days=15,
            clock=late,
        )
        with pytest.raises(Conflict, match="too late"):
            reg.extend(session, req, "reason", clock=late)


def test_bad_input_writes_nothing(session: Session) -> None:
    with pytest.raises(NotFound):
        reg.open_request(
            session,
            "ghost",
            kind=RequestKind.EXPORT,
            channel="email",
            received_at=NOW.now(),
            working_days=15,
            clock=NOW,
        )
    with pytest.raises(InvalidInput, match="channel"):
        reg.open_request(
            session,
            "ghost",
            kind=RequestKind.EXPORT,
            channel="fax",
            received_at=NOW.now(),
            working_days=15,
            clock=NOW,
        )
    with pytest.raises(InvalidInput, match="future"):
        reg.open_request(
            session,
            "ghost",
            kind=RequestKind.EXPORT,
            channel="email",
            received_at=datetime(2027, 1, 1, tzinfo=SHANGHAI),
            working_days=15,
            clock=NOW,
        )
    assert session.scalars(select(AuditEvent)).all() == []


def test_overdue_and_due_within(session: Session) -> None:
    request = _open(session)
    assert reg.list_requests(session, today=date(2026, 10, 11), overdue=True) == [request]
    assert reg.list_requests(session, today=date(2026, 10, 9), overdue=True) == []
    assert reg.list_requests(session, today=date(2026, 10, 5), due_within_days=5) == [request]
    assert reg.list_requests(session, today=date(2026, 10, 1), due_within_days=5) == []
    view = reg.RequestView(request, date(2026, 10, 11)).as_dict()
    assert view["overdue"] is True and view["days_left"] == -1


def test_cli_register_flow(cli: Cli) -> None:
    created = cli("users", "create", "--issuer", "https://i/oidc", "--sub", "cli-user", "--json")
    assert created.exit_code == 0, created.output
    opened = cli(
        "requests",
        "open",
        "--user",
        "cli-user",
        "--kind",
        "export",
        "--received",
        "2026-09-14T10:00+08:00",
        "--channel",
        "email",
        "--json",
    )
    assert opened.exit_code == 0, opened.output
    request = json.loads(opened.stdout)
    assert request["due_on"] == "2026-10-10" and request["state"] == "received"
    assert cli("requests", "verify", request["id"]).exit_code == 2
    assert cli("requests", "verify", request["id"], "--note", "checked by phone").exit_code == 0
    shown = json.loads(cli("requests", "show", request["id"], "--json").stdout)
    assert shown["state"] == "verified" and shown["verification"] == "manual"
    listed = json.loads(cli("requests", "list", "--json").stdout)
    assert [r["id"] for r in listed] == [request["id"]]
    refused = cli("requests", "refuse", request["id"], "--reason", "duplicate of an earlier one")
    assert refused.exit_code == 0
    assert json.loads(cli("requests", "list", "--json").stdout) == []
    bad_kind = cli(
        "requests",
        "open",
        "--user",
        "cli-user",
        "--kind",
        "lunch",
        "--received",
        "2026-09-14",
        "--channel",
        "email",
    )
    assert bad_kind.exit_code == 2 and "'lunch' is not one of" in bad_kind.stderr
    assert cli("requests", "show", "00000000-0000-0000-0000-000000000000").exit_code == 3


def test_a_guardian_request_stops_processing_at_once(session: Session) -> None:
    from liveai.models import User, UserStatus

    request = _open(session, kind=RequestKind.GUARDIAN)
    user = session.get_one(User, request.user_id)
    assert user.status is UserStatus.DELETION_PENDING
    reg.refuse(session, request, "not the child's guardian", clock=NOW)
    assert user.status is UserStatus.ACTIVE  # type: ignore[comparison-overlap]  # refuse moves it
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "user.processing_stopped" in actions and "user.processing_resumed" in actions
