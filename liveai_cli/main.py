"""The root `liveai` command: global options and every command group.

Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 auth rejected, 5 insufficient
credits, 6 upstream failure, 130 interrupted.
"""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import output, worker
from liveai_cli.app import App
from liveai_cli.groups import LazyGroup

app = App(
    name="liveai",
    cls=LazyGroup,
    # Plain text, not Rich markup, so docs/cli.md has no HTML entities.
    rich_markup_mode="markdown",
    help=(
        "Operations and compliance toolkit for the live.ai app.\n\n"
        "Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 auth rejected, "
        "5 insufficient credits, 6 upstream failure, 130 interrupted. "
        "Set LIVEAI_DEBUG=1 for tracebacks."
    ),
)
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
