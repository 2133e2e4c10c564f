"""liveai providers: which remote video providers are configured, and whether they answer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from liveai_cli import choices, output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("providers"))


@app.command("list")
@output.list_options
def list_(fmt: output.Format = output.HUMAN) -> None:
    """List Kling, Ark, Wan and fal: order, region, overseas or not, credentials, enabled.

    Credentials come from LIVEAI_KLING_*, LIVEAI_ARK_*, LIVEAI_WAN_*, LIVEAI_FAL_*; the order
    from LIVEAI_PROVIDER_ORDER; overseas providers need LIVEAI_ALLOW_OVERSEAS=true.

    Example: liveai providers list --json
    """
    from liveai.providers.remote import describe

    rows = [asdict(info) for info in describe(state.settings())]
    columns = ["position", "name", "model", "region", "overseas", "credentials", "enabled"]
    output.emit(rows, fmt, [*columns, "reason"])


@app.command("check")
@output.json_option
def check(
    name: Annotated[
        choices.RemoteProvider | None,
        typer.Argument(help="One provider; default: every configured one."),
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Authenticate against each configured provider with one cheap call; exit 6 on a failure.

    Example: liveai providers check kling
    """
    import httpx

    from liveai.providers.remote import check_providers

    with httpx.Client() as client:
        results = check_providers(state.settings(), client, name)
    ok = all(r.ok for r in results)
    if fmt.json:
        output.emit({"ok": ok, "checks": [asdict(r) for r in results]}, fmt)
    elif not results:
        output.info("no remote provider has credentials; the local renderer is used")
    else:
        rows = [
            {"name": r.name, "ok": "ok" if r.ok else "FAIL", "detail": r.detail} for r in results
        ]
        output.table(rows, ["name", "ok", "detail"])
    if not ok:
        from liveai.errors import ExitCode

        raise typer.Exit(int(ExitCode.UPSTREAM))
