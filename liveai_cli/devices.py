"""liveai devices: the APNs device tokens that completion notifications go to."""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.options import UserArg, YesOption

app = App(help=summary("devices"))

TokenArg = Annotated[str, typer.Argument(help="The APNs device token (hexadecimal).")]
COLUMNS = ["id", "token", "environment", "app_version", "ios_version", "locale", "last_seen_at"]


@app.command("list")
@output.list_options
def list_(user: UserArg, fmt: output.Format = output.HUMAN) -> None:
    """List a user's devices, oldest first.

    Example: liveai devices list u_123 --json
    """
    from liveai.push import device_to_dict, list_devices

    with state.session() as session:
        rows = [device_to_dict(d) for d in list_devices(session, user)]
    output.emit(rows, fmt, COLUMNS, empty="no devices for this user")


@app.command("add")
@output.json_option
def add(
    user: UserArg,
    token: TokenArg,
    env: Annotated[str, typer.Option("--env", help="APNs environment: sandbox or production.")],
    app_version: Annotated[str | None, typer.Option(help="The app's version.")] = None,
    ios_version: Annotated[str | None, typer.Option(help="The iOS version.")] = None,
    locale: Annotated[
        str | None, typer.Option(help="Language for notifications: zh-Hans or en.")
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Register a device for a user, or refresh it if the token is known.

    Example: liveai devices add u_123 "$DEVICE_TOKEN" --env production --locale zh-Hans
    """
    from liveai.push import device_to_dict, register_device

    with state.session() as session:
        device = register_device(
            session,
            user,
            token,
            env,
            app_version=app_version,
            ios_version=ios_version,
            locale=locale,
            actor=state.actor(),
        )
        shown = device_to_dict(device)
    output.emit(shown, fmt)


@app.command("remove")
@output.json_option
def remove(
    token: TokenArg,
    yes: YesOption = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Forget a device: it gets no more notifications.

    Example: liveai devices remove "$DEVICE_TOKEN" --yes
    """
    from liveai.push import device_to_dict, get_device, remove_device

    with state.session() as session:
        device = get_device(session, token)
        device_id, user_id, shown = device.id, device.user_id, device_to_dict(device)
    output.confirm(f"Remove device {device_id} of user {user_id}?", yes=yes)
    with state.session() as session:
        remove_device(session, token, actor=state.actor())
    output.done({**shown, "removed": True}, fmt, f"device {device_id} removed")
