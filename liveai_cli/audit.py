"""liveai audit: read, verify and anchor the keyed, hash-chained audit log."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("audit"))

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@app.command("list")
def list_(
    user: Annotated[str | None, typer.Option(help="Only events about this user.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the newest N events.")] = None,
    json_: JsonOption = False,
) -> None:
    """List audit events, oldest first.

    Example: liveai audit list --user u_123 --json
    """
    from liveai.audit import event_to_dict, list_events
    from liveai.users import get_user

    with state.session() as session:
        user_id = get_user(session, user).id if user else None
        rows = [event_to_dict(e) for e in list_events(session, user_id=user_id, limit=limit)]
    if json_:
        output.emit_json(rows)
    else:
        output.table(rows, ["id", "at", "actor", "action", "user_id", "details"])


@app.command("verify")
def verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor",
            help="An anchor (COUNT:HASH) or a file of them, one a line, from `audit anchor`; "
            "repeatable. Catches events cut off the end.",
        ),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Check every event's keyed hash and link, and that the chain still reaches each anchor;
    exit 1 naming the first altered event or the anchor it no longer reaches.

    Example: liveai audit verify --anchor /mnt/worm/liveai-anchors.txt
    """
    from liveai.audit import verify_chain

    anchors = _anchors(anchor or [])
    with state.session() as session:
        report = verify_chain(session, anchors)
    if json_:
        output.emit_json(
            {
                "ok": report.ok,
                "checked": report.checked,
                "redacted": report.redacted,
                "anchors": len(anchors),
                "first_bad_id": report.first_bad_id,
                "reason": report.reason,
            }
        )
    if not report.ok:
        if report.first_bad_id is None:
            output.error(f"audit chain cut short: {report.reason}")
        else:
            output.error(f"audit event {report.first_bad_id} was altered: {report.reason}")
        raise typer.Exit(1)
    if not json_:
        checked = f" and {len(anchors)} anchor(s)" if anchors else ""
        output.info(f"audit chain intact: {report.checked} events{checked}")


def _anchors(values: list[str]) -> list[Any]:
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
def anchor(json_: JsonOption = False) -> None:
    """Print the chain's head (event count and newest hash) as COUNT:HASH; append it
    somewhere the database's users cannot rewrite, and check against it with
    `audit verify --anchor`.

    Example: liveai audit anchor >> /mnt/worm/liveai-anchors.txt
    """
    from liveai.audit import anchor as head

    with state.session() as session:
        found = head(session)
    if json_:
        output.emit_json({"count": found.count, "hash": found.hash, "anchor": str(found)})
    else:
        output.text(str(found))
