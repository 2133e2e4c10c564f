"""liveai push: send notifications to a user's devices, or a test push to one token."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.options import UserRefArg

app = App(help=summary("push"))

COLUMNS = ["device_id", "token", "outcome", "reason", "status", "attempts"]


@app.command("send")
@output.json_option
def send(
    user: UserRefArg,
    title: Annotated[str, typer.Option(help="The alert title.")],
    body: Annotated[str, typer.Option(help="The alert body.")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Push an alert to every device of a user; exit 6 if none was delivered.

    Example: liveai push send u_123 --title "Video ready" --body "Tap to watch it." --json
    """
    from liveai.push import Notification, Pusher, send_to_user

    pusher = Pusher.from_settings(state.settings())
    with state.database() as database:
        outcomes = send_to_user(database, pusher, user, Notification(title=title, body=body))
    rows = [o.to_dict() for o in outcomes]
    _render(rows, fmt)
    if not rows:
        output.warn("the user has no registered devices")
    elif not any(row["outcome"] == "delivered" for row in rows):
        raise typer.Exit(6)


@app.command("test")
@output.json_option
def test(
    token: Annotated[str, typer.Argument(help="The APNs device token (hexadecimal).")],
    env: Annotated[str, typer.Option("--env", help="APNs environment: sandbox or production.")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Send a test alert to one device token; exit 6 unless APNs accepted it.

    Example: liveai push test "$DEVICE_TOKEN" --env sandbox
    """
    from liveai.push import Notification, Pusher, send_test

    pusher = Pusher.from_settings(state.settings())
    note = Notification(title="live.ai", body="Test notification / 测试通知")
    with state.database() as database:
        outcome = send_test(database, pusher, token, env, note)
    _render([outcome.to_dict()], fmt)
    if outcome.to_dict()["outcome"] != "delivered":
        raise typer.Exit(6)


def _render(rows: list[dict[str, Any]], fmt: output.Format) -> None:
    if fmt.json:
        output.emit(rows, fmt)
        return
    output.table(rows, COLUMNS)
