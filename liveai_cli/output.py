"""The only code that writes to the terminal: data to stdout, everything else to stderr."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

_C1 = re.compile(r"[\x80-\x9f]")
_stdout: Console | None = None
_stderr: Console | None = None


def stdout() -> Console:
    global _stdout
    if _stdout is None:
        from rich.console import Console

        _stdout = Console(soft_wrap=True, highlight=False, emoji=False)
    return _stdout


def stderr() -> Console:
    global _stderr
    if _stderr is None:
        from rich.console import Console

        _stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    return _stderr


def emit_json(data: Any) -> None:
    """One stable JSON document on stdout: sorted keys, no colour, no wrapping; C1 controls,
    which JSON leaves raw, written as escapes."""
    document = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    sys.stdout.write(_C1.sub(lambda found: f"\\u{ord(found.group()):04x}", document))
    sys.stdout.write("\n")


def text(line: str) -> None:
    sys.stdout.write(clean(line) + "\n")


def table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, title: str | None = None
) -> None:
    from rich.table import Table

    grid = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*(_styled_or_cell(row.get(column)) for column in columns))
    _print_uncut(grid)


def _print_uncut(grid: Any) -> None:
    """Print at the table's natural width, wider than the terminal if need be: a cut id
    or date is worse than a wrapped line."""
    from rich.console import Console
    from rich.measure import Measurement

    console = stdout()
    natural = Measurement.get(console, console.options.update_width(10_000), grid).maximum
    if natural <= console.width:
        console.print(grid)
        return
    Console(soft_wrap=True, highlight=False, width=natural).print(grid)


def _styled_or_cell(value: Any) -> Any:
    from rich.text import Text

    return value if isinstance(value, Text) else _escape(_cell(value))


def alert(message: str) -> Any:
    """A cell shown in red on a terminal (plain text in a pipe)."""
    from rich.text import Text

    return Text(message, style="bold red")


def write_file(path: Path, content: str) -> None:
    """Write a document whole or not at all (a temporary name, then a rename), owner-only."""
    import os
    import tempfile

    from liveai.errors import InvalidInput

    if not path.parent.is_dir():
        raise InvalidInput(f"the folder {path.parent} does not exist")
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def emit_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """RFC 4180 CSV on stdout: a header row, then one row per record, cells as plain text."""
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(_csv_cell(row.get(column)) for column in columns)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet would run it as a formula
    return _cell(value)


def fields(data: Mapping[str, Any]) -> None:
    """A record as aligned `key  value` lines."""
    width = max((len(key) for key in data), default=0)
    for key, value in data.items():
        stdout().print(f"[bold]{_escape(key.ljust(width))}[/bold]  {_escape(_cell(value))}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def info(message: str) -> None:
    stderr().print(clean(message), markup=False)


def warn(message: str) -> None:
    stderr().print(f"[yellow]warning:[/yellow] {_escape(message)}")


def error(message: str) -> None:
    stderr().print(f"[red]error:[/red] {_escape(message)}")


def _escape(message: str) -> str:
    """``message`` safe to print as Rich markup: control characters gone, markup escaped."""
    from rich.markup import escape

    return escape(clean(message))


def clean(message: str) -> str:
    """``message`` without terminal control characters (tab and newline stay)."""
    from liveai.text import strip_control

    return strip_control(message)


def confirm(question: str, *, yes: bool) -> None:
    """Ask before a destructive step; without a terminal and without --yes, refuse."""
    if yes:
        return
    if not interactive():
        error(f"{question} Refusing without a terminal: pass --yes to confirm.")
        raise typer.Exit(1)
    try:
        agreed = typer.confirm(clean(question), default=False, err=True)
    except typer.Abort:  # Ctrl-C (or end of input) at the prompt
        raise KeyboardInterrupt from None
    if not agreed:
        info("declined: nothing changed")
        raise typer.Exit(1)


def interactive() -> bool:
    return sys.stdin.isatty()
