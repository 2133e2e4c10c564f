"""liveai config: show the settings in force and where they come from."""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("config"))

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@app.command("show")
def show(json_: JsonOption = False) -> None:
    """Show every setting, secrets masked.

    Example: liveai config show --json
    """
    shown = state.settings().masked()
    if json_:
        output.emit_json(shown)
    else:
        output.fields(shown)


@app.command("path")
def path() -> None:
    """Print the path of the TOML config file (LIVEAI_CONFIG overrides it).

    Example: liveai config path
    """
    from liveai.settings import default_config_path

    output.text(str(default_config_path()))
