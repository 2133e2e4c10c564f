"""liveai audit: read, verify and anchor the keyed, hash-chained audit log."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from liveai.audit import Anchor

app = App(help=summary("audit"))

DEFAULT_LIMIT = 50
AUDIT_COLUMNS = ("id", "at", "actor", "action", "user_id", "details")
# On a terminal the least useful right-most, as a narrow one drops columns from the right.
TABLE_COLUMNS = ("id", "at", "action", "user_id", "actor", "details")


@app.command("list")
@output.list_options
def list_(
    user: Annotated[
        str | None, typer.Option(help="Only events about this user (id, subject or e-mail).")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, or a prefix such as request.*")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this moment on (a date, local time or ISO).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this moment.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, help=f"At most N events (default {DEFAULT_LIMIT}).")
    ] = DEFAULT_LIMIT,
    all_: Annotated[bool, typer.Option("--all", help="Every matching event, no limit.")] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List audit events, newest first (the newest 50 unless --limit or --all); times in
    the deadline zone.

    Example: liveai audit list --action request.* --since 2026-10-01 --csv
    """
    from dataclasses import replace

    from liveai.audit import EventFilter, event_to_dict, newest_events
    from liveai.privacy.calendar import deadline_zone
    from liveai_cli.cells import zoned

    state.deadlines()
    zone = deadline_zone()
    wanted = EventFilter(
        action=action,
        since=state.moment(since) if since else None,
        until=state.moment(until) if until else None,
        limit=None if all_ else limit,
    )
    with state.session() as session:
        if user:
            wanted = replace(wanted, user_id=_user_id(session, user))
        rows = [event_to_dict(e) for e in newest_events(session, wanted)]
    if fmt.name == "csv":
        rows = [{name: row[name] for name in AUDIT_COLUMNS} for row in rows]
    elif not fmt.json:
        rows = [{**row, "at": zoned(row["at"], zone)} for row in rows]
    columns = AUDIT_COLUMNS if fmt.name == "csv" else TABLE_COLUMNS
    output.emit(rows, fmt, columns, empty="no audit events")


def _user_id(session: Session, ref: str) -> uuid.UUID:
    """The user's id; an erased user's bare id still finds the events that name it."""
    from liveai.users import get_user

    try:
        return uuid.UUID(ref)
    except ValueError:
        return get_user(session, ref).id


@app.command("verify")
@output.json_option
def verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor",
            help="An anchor (COUNT:HASH) or a file of them, one a line, from `audit anchor`; "
            "repeatable. Catches events cut off the end.",
        ),
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Check every event's keyed hash and link, and that the chain still reaches each anchor;
    exit 1 naming the first altered event or the anchor it no longer reaches.

    Example: liveai audit verify --anchor /mnt/worm/liveai-anchors.txt
    """
    from liveai.audit import verify_chain

    anchors = _anchors(anchor or [])
    with state.session() as session:
        report = verify_chain(session, anchors)
    if fmt.json:
        output.emit(
            {
                "ok": report.ok,
                "checked": report.checked,
                "redacted": report.redacted,
                "anchors": len(anchors),
                "first_bad_id": report.first_bad_id,
                "reason": report.reason,
            },
            fmt,
        )
    if not report.ok:
        if report.first_bad_id is None:
            output.error(f"audit chain cut short: {report.reason}")
        else:
            output.error(f"audit event {report.first_bad_id} was altered: {report.reason}")
        raise typer.Exit(1)
    if not fmt.json:
        checked = f" and {len(anchors)} anchor(s)" if anchors else ""
        output.info(f"audit chain intact: {report.checked} events{checked}")


def _anchors(values: list[str]) -> list[Anchor]:
    """Anchors given as values or as files holding one a line."""
    from pathlib import Path

    from liveai.audit import Anchor
    from liveai.errors import InvalidInput

    found = []
    for value in values:
        path = Path(value)
        if ":" in value and not path.exists():
            found.append(Anchor.parse(value))
            continue
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise InvalidInput(
                f"cannot read the anchor file {value}: {exc.strerror}",
                hint="pass COUNT:HASH as printed by `liveai audit anchor`, or a file of them",
            ) from None
        found.extend(Anchor.parse(line) for line in lines if line.strip())
    return found


@app.command("anchor")
@output.json_option
def anchor(fmt: output.Format = output.HUMAN) -> None:
    """Print the chain's head (event count and newest hash) as COUNT:HASH; append it
    somewhere the database's users cannot rewrite, and check against it with
    `audit verify --anchor`.

    Example: liveai audit anchor >> /mnt/worm/liveai-anchors.txt
    """
    from liveai.audit import anchor as head

    with state.session() as session:
        found = head(session)
    if fmt.json:
        output.emit({"count": found.count, "hash": found.hash, "anchor": str(found)}, fmt)
    else:
        output.text(str(found))
