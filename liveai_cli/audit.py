"""liveai audit: read and verify the hash-chained audit log."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("audit"))

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


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
    from liveai.moments import parse_moment
    from liveai.privacy.calendar import deadline_zone
    from liveai_cli.cells import zoned

    state.deadlines()
    zone = deadline_zone()
    wanted = EventFilter(
        action=action,
        since=parse_moment(since, zone) if since else None,
        until=parse_moment(until, zone) if until else None,
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


def _user_id(session: Any, ref: str) -> Any:
    """The user's id; an erased user's bare id still finds the events that name it."""
    import uuid

    from liveai.users import get_user

    try:
        return uuid.UUID(ref)
    except ValueError:
        return get_user(session, ref).id


@app.command("verify")
def verify(json_: JsonOption = False) -> None:
    """Check every event's hash and link; exit 1 naming the first altered event.

    Example: liveai audit verify
    """
    from liveai.audit import verify_chain

    with state.session() as session:
        report = verify_chain(session)
    if json_:
        output.emit_json(
            {
                "ok": report.ok,
                "checked": report.checked,
                "first_bad_id": report.first_bad_id,
                "reason": report.reason,
            }
        )
    if not report.ok:
        output.error(f"audit event {report.first_bad_id} was altered: {report.reason}")
        raise typer.Exit(1)
    if not json_:
        output.info(f"audit chain intact: {report.checked} events")
