from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai.errors import Conflict, InvalidInput, NotFound
from liveai.models import AuditEvent, User
from liveai.users import create_user, get_user, list_users, rename_user
from tests.conftest import Cli

ISS = "https://auth.example/oidc"


def test_create_and_find_by_id_or_subject(session: Session) -> None:
    user = create_user(session, issuer=ISS, subject="sub-1", email="a@b.cn", display_name=" Ann ")
    assert user.display_name == "Ann"
    assert get_user(session, str(user.id)) is user
    assert get_user(session, "sub-1") is user
    assert [u.id for u in list_users(session)] == [user.id]


def test_duplicate_subject_is_refused_and_writes_nothing(session: Session) -> None:
    create_user(session, issuer=ISS, subject="dup")
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(Conflict, match="already bound"):
        create_user(session, issuer=ISS, subject="dup")
    assert session.scalar(select(func.count()).select_from(User)) == 1
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_bad_email_and_name_are_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="not an email"):
        create_user(session, issuer=ISS, subject="s", email="nope")
    with pytest.raises(InvalidInput, match="display name"):
        create_user(session, issuer=ISS, subject="s", display_name=" ")


def test_unknown_user_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="liveai users list"):
        get_user(session, "ghost")


def test_rename_writes_an_audit_event_without_the_name(session: Session) -> None:
    user = create_user(session, issuer=ISS, subject="s2", display_name="Old")
    rename_user(session, user.id, "Secret New Name")
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["user.created", "user.renamed"]
    assert all("Secret" not in json.dumps(e.details) for e in events)
    assert get_user(session, "s2").display_name == "Secret New Name"


def test_cli_users_roundtrip(cli: Cli) -> None:
    created = cli("users", "create", "--issuer", ISS, "--sub", "cli-sub", "--name", "Bo", "--json")
    assert created.exit_code == 0, created.output
    user_id = json.loads(created.stdout)["id"]
    assert cli("users", "rename", "cli-sub", "Bob").exit_code == 0
    shown = json.loads(cli("users", "show", user_id, "--json").stdout)
    assert shown["display_name"] == "Bob"
    assert shown["identities"] == [{"issuer": ISS, "subject": "cli-sub"}]
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [u["id"] for u in listed] == [user_id]


def test_cli_unknown_user_exits_3(cli: Cli) -> None:
    result = cli("users", "show", "nobody")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "no user 'nobody'" in result.stderr


def test_cli_duplicate_exits_1_without_writing(cli: Cli) -> None:
    assert cli("users", "create", "--issuer", ISS, "--sub", "x").exit_code == 0
    again = cli("users", "create", "--issuer", ISS, "--sub", "x")
    assert again.exit_code == 1
    assert len(json.loads(cli("audit", "list", "--json").stdout)) == 1
