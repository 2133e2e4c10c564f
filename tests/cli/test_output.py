"""Output for people and for pipes: formats, whole ids and dates, id prefixes, navigation."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from rich.console import Console
from sqlalchemy.orm import Session

from liveai.errors import AmbiguousId
from liveai.ids import resolve_id
from liveai.models import User
from liveai.users import get_user
from liveai_cli import cells
from liveai_cli.tables import render_table
from tests.conftest import Cli

LISTS = [
    ("tasks", "list"),
    ("users", "list"),
    ("audit", "list"),
    ("requests", "list", "--all"),
    ("storage", "ls"),
    ("providers", "list"),
    ("credits", "history", "developer"),
    ("credits", "holds"),
    ("receipts", "list"),
    ("receipts", "notifications"),
    ("devices", "list", "developer"),
    ("receipts", "products"),
    ("policy", "versions"),
    ("retention", "status"),
]


@pytest.fixture
def toured(
    cli_embedded: Cli, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Cli, dict[str, Any]]:
    """The embedded default after one sample generation and one opened request."""
    monkeypatch.setenv("LIVEAI_APPLE_BUNDLE_ID", "ai.live.app")
    monkeypatch.setenv("LIVEAI_APPLE_PRODUCTS", '{"ai.live.credits10": 10}')
    made = cli_embedded("generate", "--sample", "--out", str(tmp_path / "out"), "--json")
    assert made.exit_code == 0, made.output
    opened = cli_embedded(
        "requests", "open", "--user", "developer", "--kind", "export",
        "--received", "2026-11-02", "--channel", "email", "--json",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    return cli_embedded, json.loads(made.stdout)


@pytest.mark.parametrize("argv", LISTS, ids=lambda a: " ".join(a[:2]))
def test_every_list_parses_when_piped(
    toured: tuple[Cli, dict[str, Any]], argv: tuple[str, ...]
) -> None:
    cli, _ = toured
    as_json = cli(*argv, "--json")
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert isinstance(rows, list)
    as_nl = cli(*argv, "--nl")
    assert [json.loads(line) for line in as_nl.stdout.splitlines()] == rows
    as_csv = list(csv.DictReader(io.StringIO(cli(*argv, "--csv").stdout)))
    assert len(as_csv) == len(rows)
    plain = cli(*argv)
    assert plain.exit_code == 0
    if rows:
        lines = plain.stdout.splitlines()
        header = lines[0].split("\t")
        assert all(len(line.split("\t")) == len(header) for line in lines[1:])
        assert len(lines) == len(rows) + 1
        assert not any(ch in plain.stdout for ch in "│┃━…")


def test_piped_lists_keep_whole_ids_and_zoned_times(toured: tuple[Cli, dict[str, Any]]) -> None:
    cli, task = toured
    lines = cli("tasks", "list").stdout.splitlines()
    assert lines[0].split("\t")[0] == "id"
    row = dict(zip(lines[0].split("\t"), lines[1].split("\t"), strict=True))
    assert row["id"] == task["id"]
    assert row["created_at"].endswith(" UTC") and len(row["created_at"]) == len(
        "2026-01-01 00:00:00 UTC"
    )


def test_an_empty_list_says_so_on_stderr(cli_embedded: Cli, isolated_env: Path) -> None:
    result = cli_embedded("tasks", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no tasks" in result.stderr
    assert cli_embedded("tasks", "list", "--json").stdout.strip() == "[]"


def test_two_formats_at_once_is_a_usage_error(cli_embedded: Cli, isolated_env: Path) -> None:
    result = cli_embedded("users", "list", "--json", "--csv")
    assert result.exit_code == 2
    assert "--json or --csv" in result.stderr


def test_json_is_one_line_when_piped(toured: tuple[Cli, dict[str, Any]]) -> None:
    cli, task = toured
    shown = cli("tasks", "show", task["id"], "--json").stdout
    assert shown.count("\n") == 1
    assert json.loads(shown)["created_at"].endswith("+00:00")


date = cells.human("2026-12-05T11:29:11.5+00:00")


def test_a_terminal_table_never_cuts_ids_keys_or_dates() -> None:
    task_id = str(uuid.uuid4())
    key = f"users/{uuid.uuid4()}/results/{task_id}.mp4"
    columns = ["id", "state", "provider", "prompt", "key", "created_at"]
    row = ["succeeded", "kling", "waves roll in on a long beach at dusk " * 2]
    shown = [[task_id, *row, key, date]]
    for width in (60, 80, 120, 200):
        screen = Console(width=width, record=True, file=io.StringIO(), stderr=False)
        render_table(screen, columns, shown)
        text = screen.export_text()
        for whole in (task_id, key):
            assert whole in text, (width, text)
        assert "…" not in text and "2026-12-05 11:29:" not in text.replace(date, "")
        assert (date in text) == (width >= 160), (width, text)


def test_columns_drop_from_the_right_and_ids_never() -> None:
    screen = Console(width=100, record=True, file=io.StringIO())
    columns = ["id", "kind", "state", "due_on", "days_left", "overdue", "received_at"]
    row = [str(uuid.uuid4()), "deletion", "received", "2026-12-18", "9", "no", date]
    render_table(screen, columns, [row])
    text = screen.export_text()
    assert "2026-12-18" in text and "days_left" in text
    assert "received_at" not in text


def test_wide_shows_every_column() -> None:
    screen = Console(width=60, record=True, file=io.StringIO())
    columns = ["id", "state", "prompt"]
    render_table(screen, columns, [[str(uuid.uuid4()), "succeeded", "x" * 50]], wide=True)
    assert "x" * 50 in screen.export_text()


@pytest.mark.parametrize(
    ("value", "column", "shown"),
    [
        (True, "", "yes"),
        (False, "overdue", "no"),
        (None, "", "-"),
        (1_400_000, "held_bytes", "1.4 MB"),
        (999, "size", "999 B"),
        ({"succeeded": 5}, "", "succeeded=5"),
        (datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC), "", "2026-01-02 03:04:05 UTC"),
        ([1, 2], "", "1, 2"),
    ],
)
def test_cells_read_as_words_not_python(value: object, column: str, shown: str) -> None:
    assert cells.human(value, column) == shown


def _user(session: Session, hex_id: str) -> User:
    now = datetime.now(UTC)
    user = User(id=uuid.UUID(hex_id), created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    return user


def test_id_prefixes_resolve_and_ambiguity_names_the_matches(session: Session) -> None:
    one = _user(session, "abcdef01-0000-4000-8000-000000000001")
    two = _user(session, "abcdef02-0000-4000-8000-000000000002")
    assert get_user(session, "abcdef01").id == one.id
    assert get_user(session, "ABCDEF02-00").id == two.id
    with pytest.raises(AmbiguousId) as raised:
        get_user(session, "abcdef")
    assert str(one.id) in str(raised.value) and str(two.id) in str(raised.value)
    assert "liveai users list" in str(raised.value)
    assert resolve_id(session, User.id, "abcde", noun="user", hint="") is None


def test_cli_commands_take_id_prefixes(toured: tuple[Cli, dict[str, Any]]) -> None:
    cli, task = toured
    assert cli("tasks", "show", task["id"][:8], "--json").exit_code == 0
    request = json.loads(cli("requests", "list", "--json").stdout)[0]
    assert cli("requests", "show", request["id"][:6]).exit_code == 0
    user = json.loads(cli("users", "list", "--json").stdout)[0]
    assert (
        json.loads(cli("credits", "balance", user["id"][:7], "--json").stdout)["user_id"]
        == user["id"]
    )
    transfer = json.loads(cli("credits", "history", "developer", "--json").stdout)[0]
    assert (
        json.loads(cli("credits", "show", transfer["id"][:8], "--json").stdout)["id"]
        == transfer["id"]
    )
    missing = cli("tasks", "show", "ffffff")
    assert missing.exit_code == 3
    assert "liveai tasks list" in missing.stderr


def test_write_commands_print_what_they_wrote(toured: tuple[Cli, dict[str, Any]]) -> None:
    cli, _ = toured
    granted = cli("credits", "grant", "developer", "5", "--reason", "r", "--key", "k1", "--json")
    transfer = json.loads(granted.stdout)
    assert transfer["amount"] == 5 and transfer["key"] == "k1" and transfer["replayed"] is False
    again = json.loads(
        cli("credits", "grant", "developer", "5", "--reason", "r", "--key", "k1", "--json").stdout
    )
    assert again["id"] == transfer["id"] and again["replayed"] is True
    renamed = json.loads(cli("users", "rename", "developer", "Dev", "--json").stdout)
    assert renamed["display_name"] == "Dev"
    verified = json.loads(cli("audit", "verify", "--json").stdout)
    assert verified["ok"] is True


def test_help_panels_by_persona_in_order(cli_embedded: Cli) -> None:
    result = cli_embedded("--help")
    titles = ["Generate", "Money", "Users & devices", "Compliance", "Operate"]
    positions = [result.stdout.index(f"─ {t} ") for t in titles]
    assert positions == sorted(positions)
    assert "<bool>" not in result.stdout
    assert "<bool>" not in cli_embedded("tasks", "list", "--help").stdout


def test_bare_liveai_shows_help_and_exits_0(cli_embedded: Cli) -> None:
    result = cli_embedded()
    assert result.exit_code == 0
    assert "Compliance" in result.stdout


def test_usage_errors_are_one_line_and_the_usage(cli_embedded: Cli) -> None:
    result = cli_embedded("users", "list", "--limit", "zero")
    assert result.exit_code == 2
    assert "╭" not in result.stderr
    first, usage, *_ = result.stderr.splitlines()
    assert first.startswith("error: Invalid value for '--limit'")
    assert usage.startswith("Usage: liveai users list")


def test_did_you_mean_across_groups(cli_embedded: Cli) -> None:
    result = cli_embedded("export")
    assert result.exit_code == 2
    assert "liveai privacy export" in result.stderr


def test_aliases(toured: tuple[Cli, dict[str, Any]]) -> None:
    cli, _ = toured
    assert cli("tasks", "ls").stdout == cli("tasks", "list").stdout
    assert cli("storage", "list").exit_code == 0
    refused = cli("users", "delete", "developer")
    assert refused.exit_code == 1
    assert "--yes" in refused.stderr


def test_declared_choices_match_the_library() -> None:
    from typing import get_args

    from liveai.models import RequestKind, TaskState
    from liveai.privacy.requests import CHANNELS, JURISDICTIONS
    from liveai.providers.base import Motion
    from liveai.providers.registry import AUTO, LOCAL
    from liveai.providers.vendors import names
    from liveai_cli import choices

    assert set(get_args(choices.Motion)) == {m.value for m in Motion}
    assert set(get_args(choices.TaskState)) == {s.value for s in TaskState}
    assert set(get_args(choices.RequestKind)) == {k.value for k in RequestKind}
    assert get_args(choices.Channel) == CHANNELS
    assert get_args(choices.Jurisdiction) == JURISDICTIONS
    # The type checker sees these as `str`; at run time they are Enum types listing names.
    assert tuple(cast("Iterable[str]", choices.RemoteProvider)) == names()
    assert tuple(cast("Iterable[str]", choices.Provider)) == (AUTO, *names(), LOCAL)


def test_choices_show_in_help_and_refuse_others(cli_embedded: Cli, isolated_env: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    assert "`--state <queued|submitted|running|succeeded|failed|cancelled>`" in docs
    assert "`--kind <export|deletion|correction|guardian|objection>`" in docs
    refused = cli_embedded("tasks", "list", "--state", "done")
    assert refused.exit_code == 2
    assert "'done' is not one of" in refused.stderr


def test_ids_complete_from_the_database(toured: tuple[Cli, dict[str, Any]]) -> None:
    from liveai_cli.complete import request_ids, task_ids, user_ids

    _cli, task = toured
    assert task_ids(task["id"][:4]) == [task["id"]]
    assert task_ids("") == [task["id"]]
    assert user_ids(task["user_id"][:3]) == [task["user_id"]]
    assert len(request_ids("")) == 1
    assert task_ids("zzzz") == []


def test_messages_leak_no_internals() -> None:
    from liveai.errors import plain_reason
    from liveai.providers.render import poster_jpeg

    with pytest.raises(ValueError) as raised:
        poster_jpeg(b"garbage" * 100)
    assert str(raised.value) == "not a playable video: Invalid data found when processing input"
    leaky = OSError("cannot identify image file <_io.BytesIO object at 0x7fd40fa17a60>")
    assert plain_reason(leaky) == "cannot identify image file"


def test_resume_reports_counts_in_words(cli_embedded: Cli, isolated_env: Path) -> None:
    queued = cli_embedded("generate", "--sample", "--no-wait", "--json")
    assert queued.exit_code == 0, queued.output
    resumed = cli_embedded("tasks", "resume")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed 1 task(s): 1 succeeded" in resumed.stderr
    assert "{" not in resumed.stderr


def test_json_times_are_exact_utc(cli_embedded: Cli, isolated_env: Path) -> None:
    assert cli_embedded("users", "create", "--issuer", "https://x", "--sub", "u1").exit_code == 0
    opened = cli_embedded(
        "requests", "open", "--user", "u1", "--kind", "export",
        "--received", "2026-11-27T18:40+08:00", "--channel", "email", "--json",
    )  # fmt: skip
    assert json.loads(opened.stdout)["received_at"] == "2026-11-27T10:40:00+00:00"
    [listed] = json.loads(cli_embedded("requests", "list", "--json").stdout)
    assert listed["received_at"] == "2026-11-27T10:40:00+00:00"
