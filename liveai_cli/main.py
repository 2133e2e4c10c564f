"""The root `liveai` command: global options and every command group.

Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 auth rejected, 5 insufficient
credits, 6 upstream failure, 130 interrupted.
"""

from __future__ import annotations

import os
from pathlib import Path
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
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log lines (-vv: debug).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Errors only; no progress.")] = False,
    log_format: Annotated[
        str, typer.Option("--log-format", help="Log lines as text or json (one object a line).")
    ] = "text",
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            metavar="FILE",
            help="Load LIVEAI_* variables from this dotenv file (the environment wins).",
        ),
    ] = None,
) -> None:
    """Operations and compliance toolkit for the live.ai app."""
    from liveai_cli.logs import FORMATS, setup_logging

    if log_format not in FORMATS:
        raise typer.BadParameter("pick text or json", param_hint="--log-format")
    setup_logging(-1 if quiet else verbose, log_format)
    if env_file is not None:
        from liveai.settings_guide import read_env_file

        for name, value in read_env_file(env_file).items():
            os.environ.setdefault(name, value)
    _warn_unknown_variables()


def _warn_unknown_variables() -> None:
    """A misspelt LIVEAI_* variable is ignored by the settings: say so on every command."""
    if not any(name.upper().startswith("LIVEAI_") for name in os.environ):
        return
    from liveai.settings_guide import unknown_message, unknown_variables

    for variable, suggestion in unknown_variables():
        output.warn(unknown_message(variable, suggestion))


@app.command("doctor")
@output.json_option
def doctor(fmt: output.Format = output.HUMAN) -> None:
    """Check configuration, database reachability and schema, and storage; exit 1 on a failure.

    Each check is ok, warn (works, but look at it), off (not configured) or FAIL.


    Example: liveai doctor --json
    """
    from dataclasses import asdict

    from liveai.doctor import run_checks

    checks = run_checks()
    ok = all(c.ok for c in checks)
    if fmt.json:
        output.emit({"ok": ok, "checks": [asdict(c) for c in checks]}, fmt)
    else:
        output.checks([(c.name, c.status, c.detail) for c in checks])
    if not ok:
        raise typer.Exit(1)


def main() -> None:
    app()
