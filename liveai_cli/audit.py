"""liveai audit: read and verify the hash-chained audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("audit"))

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@app.command("list")
@output.list_options
def list_(
    user: Annotated[str | None, typer.Option(help="Only events about this user.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the newest N events.")] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List audit events, oldest first.

    Example: liveai audit list --user u_123 --json
    """
    from liveai.audit import event_to_dict, list_events
    from liveai.users import get_user

    with state.session() as session:
        user_id = get_user(session, user).id if user else None
        rows = [event_to_dict(e) for e in list_events(session, user_id=user_id, limit=limit)]
    columns = ["id", "at", "actor", "action", "user_id", "details"]
    output.emit(rows, fmt, columns, empty="no audit events")


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
