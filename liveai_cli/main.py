"""The root `liveai` command: global options and every command group.

Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 auth rejected, 5 insufficient
credits, 6 upstream failure, 130 interrupted.
"""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import (
    audit,
    auth,
    calendar,
    config,
    credits,
    db,
    devices,
    generate,
    intake,
    output,
    policy,
    privacy,
    providers,
    push,
    receipts,
    requests,
    retention,
    storage,
    tasks,
    users,
    worker,
)
from liveai_cli.app import App

app = App(
    name="liveai",
    help=(
        "Operations and compliance toolkit for the live.ai app.\n\n"
        "Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 auth rejected, "
        "5 insufficient credits, 6 upstream failure, 130 interrupted. "
        "Set LIVEAI_DEBUG=1 for tracebacks."
    ),
)

app.add_typer(config.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(credits.app, name="credits")
app.add_typer(audit.app, name="audit")
app.add_typer(auth.app, name="auth")
app.add_typer(requests.app, name="requests")
app.add_typer(privacy.app, name="privacy")
app.add_typer(calendar.app, name="calendar")
app.add_typer(retention.app, name="retention")
app.add_typer(receipts.app, name="receipts")
app.add_typer(devices.app, name="devices")
app.add_typer(push.app, name="push")
app.add_typer(policy.app, name="policy")
app.add_typer(providers.app, name="providers")
app.add_typer(storage.app, name="storage")
app.add_typer(intake.app, name="intake")
app.add_typer(generate.app, name="generate")
app.add_typer(tasks.app, name="tasks")
app.command("worker")(worker.worker)


def _version(value: bool) -> None:
    if value:
        from liveai import __version__

        output.text(f"liveai {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Operations and compliance toolkit for the live.ai app."""


@app.command("doctor")
def doctor(
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Check configuration, database reachability and schema, and storage; exit 1 on a failure.

    Example: liveai doctor --json
    """
    from dataclasses import asdict

    from liveai.doctor import run_checks

    checks = run_checks()
    if json_:
        output.emit_json({"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]})
    else:
        output.table(
            [{**asdict(c), "ok": "ok" if c.ok else "FAIL"} for c in checks],
            ["name", "ok", "detail"],
        )
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def main() -> None:
    app()
