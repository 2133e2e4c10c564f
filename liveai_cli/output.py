"""The only code that writes to the terminal: data to stdout, everything else to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

_stdout: Console | None = None
_stderr: Console | None = None


def stdout() -> Console:
    global _stdout
    if _stdout is None:
        from rich.console import Console

        _stdout = Console(soft_wrap=True, highlight=False)
    return _stdout


def stderr() -> Console:
    global _stderr
    if _stderr is None:
        from rich.console import Console

        _stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    return _stderr


def emit_json(data: Any) -> None:
    """One stable JSON document on stdout: sorted keys, no colour, no wrapping."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str))
    sys.stdout.write("\n")


def text(line: str) -> None:
    sys.stdout.write(line + "\n")


def table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, title: str | None = None
) -> None:
    from rich.table import Table

    grid = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*(_cell(row.get(column)) for column in columns))
    stdout().print(grid)


def fields(data: Mapping[str, Any]) -> None:
    """A record as aligned `key  value` lines."""
    width = max((len(key) for key in data), default=0)
    for key, value in data.items():
        stdout().print(f"[bold]{key.ljust(width)}[/bold]  {_cell(value)}", markup=True)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def info(message: str) -> None:
    stderr().print(message, markup=False)


def warn(message: str) -> None:
    stderr().print(f"[yellow]warning:[/yellow] {_escape(message)}")


def error(message: str) -> None:
    stderr().print(f"[red]error:[/red] {_escape(message)}")


def _escape(message: str) -> str:
    from rich.markup import escape

    return escape(message)


def confirm(question: str, *, yes: bool) -> None:
    """Ask before a destructive step; without a terminal and without --yes, refuse."""
    if yes:
        return
    if not sys.stdin.isatty():
        error(f"{question} Refusing without a terminal: pass --yes to confirm.")
        raise typer.Exit(1)
    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)
