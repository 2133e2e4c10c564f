"""liveai config: the settings in force, where each comes from, and a template file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("config"))


@app.command("show")
@output.list_options
def show(fmt: output.Format = output.HUMAN) -> None:
    """Show every setting with its source (default, file, environment), secrets masked.


    Example: liveai config show --json
    """
    from dataclasses import asdict

    from liveai.settings_guide import describe

    rows = [asdict(info) for info in describe(state.settings())]
    output.emit(rows, fmt, ["name", "value", "source", "description"])


@app.command("path")
def path() -> None:
    """Print the path of the TOML config file (LIVEAI_CONFIG overrides it).

    Example: liveai config path
    """
    from liveai.settings import default_config_path

    output.text(str(default_config_path()))


@app.command("init")
def init(
    to: Annotated[
        Path | None, typer.Option("--path", help="Where to write; default: `liveai config path`.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a commented liveai.toml with every setting at its default (mode 0600).

    Example: liveai config init --path ./liveai.toml
    """
    from liveai.settings import default_config_path
    from liveai.settings_guide import write_template

    written = write_template(to or default_config_path(), force=force)
    output.info(f"wrote {written}: uncomment the settings you need")
