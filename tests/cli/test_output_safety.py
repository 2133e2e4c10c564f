"""Printed values cannot inject Rich markup or terminal escapes, and names and prompts with
control characters are refused at the door."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from liveai.db import Database, make_engine
from liveai.errors import InvalidInput
from liveai.models import User
from liveai.users import create_user, rename_user
from tests.conftest import Cli

ISS = "https://auth.example/oidc"
MARKUP = ["[/]", "[link=https://evil.example]click[/link]", "[bold red]x", "a[/b]c"]
CONTROLS = ["a\x1b[2Jb", "x\x1b]8;;https://evil.example\x07y", "q\x9b31mq", "\x07bell", "r\rr"]


@pytest.mark.parametrize("name", CONTROLS)
def test_display_names_with_control_characters_are_refused(session: Session, name: str) -> None:
    with pytest.raises(InvalidInput, match="control character"):
        create_user(session, issuer=ISS, subject=uuid.uuid4().hex, display_name=name)
    user = create_user(session, issuer=ISS, subject=uuid.uuid4().hex, display_name="ok")
    with pytest.raises(InvalidInput, match="control character"):
        rename_user(session, user.id, name)


def test_markup_in_names_is_printed_literally(cli: Cli) -> None:
    for index, name in enumerate(MARKUP):
        made = cli("users", "create", "--issuer", ISS, "--sub", f"m{index}", "--name", name)
        assert made.exit_code == 0, made.output
    listed = cli("users", "list")
    assert listed.exit_code == 0, listed.output
    for index, name in enumerate(MARKUP):
        shown = cli("users", "show", f"m{index}")
        assert shown.exit_code == 0, shown.output
        assert name in shown.stdout
    assert "[/]" in listed.stdout and "a[/b]c" in listed.stdout


def test_control_characters_already_stored_never_reach_the_terminal(cli: Cli, db_url: str) -> None:
    made = cli("users", "create", "--issuer", ISS, "--sub", "esc", "--name", "Ann", "--json")
    user_id = uuid.UUID(json.loads(made.stdout)["id"])
    database = Database(make_engine(db_url))
    with database.transaction() as session:
        session.execute(
            update(User).where(User.id == user_id).values(display_name="A\x1b]0;pwned\x07\x9b2J")
        )
    database.close()
    for args in (("users", "list"), ("users", "show", "esc")):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert (
            "\x1b" not in result.output
            and "\x9b" not in result.output
            and "\x07" not in result.output
        )
        assert "A]0;pwned2J" in result.stdout
    as_json = cli("users", "show", "esc", "--json")
    assert "\x9b" not in as_json.stdout and json.loads(as_json.stdout)["display_name"].startswith(
        "A"
    )


def test_output_helpers_escape_and_strip_centrally(capsys: pytest.CaptureFixture[str]) -> None:
    from liveai_cli import output

    output.table([{"a": "[/]", "b": "x\x1b[31my"}], ["a", "b"])
    output.fields({"name": "[link=https://e]k[/link]", "ctl": "p\x9bq"})
    output.text("t\x1b]8;;u\x07t")
    output.info("i\x1b[2Ji")
    output.error("e[/]\x1be")
    captured = capsys.readouterr()
    everything = captured.out + captured.err
    assert not any(ch in everything for ch in "\x1b\x9b\x07")
    assert "[/]" in captured.out and "[link=https://e]k[/link]" in captured.out
    assert "e[/]e" in captured.err


def test_prompts_with_escapes_are_refused_and_markup_prompts_shown_literally(
    cli_embedded: Cli, tmp_path: Path
) -> None:
    from tests.generation.helpers import photo

    image = tmp_path / "p.jpg"
    image.write_bytes(photo())
    refused = cli_embedded("generate", str(image), "--prompt", "sea\x1b]0;x\x07", "--no-wait")
    assert refused.exit_code == 2 and "control character" in refused.stderr
    made = cli_embedded("generate", str(image), "--prompt", "[/] [link=x]y", "--no-wait", "--json")
    assert made.exit_code == 0, made.output
    shown = cli_embedded("tasks", "show", json.loads(made.stdout)["id"])
    assert shown.exit_code == 0, shown.output
    assert "[/] [link=x]y" in shown.stdout
    multi = cli_embedded("generate", str(image), "--prompt", "waves\n\tgulls", "--no-wait")
    assert multi.exit_code == 0, multi.output
