"""The only code that writes to the terminal: data to stdout, everything else to stderr.

A command renders through one path: `emit(data, fmt, columns)`. `fmt` comes from the
`--json`/`--nl`/`--csv`/`--wide` flags that `@list_options` (lists) or `@json_option`
(one object) add to the command in place of its `fmt: Format` parameter. Human output is
a table in a terminal and tab-separated columns with a header when stdout is a pipe;
JSON is exact (UTC times, byte counts) and compact when piped.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from liveai_cli import cells
from liveai_cli.options import CsvOption, JsonOption, NlOption, WideOption

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

_C1 = re.compile(r"[\x80-\x9f]")
F = TypeVar("F", bound=Callable[..., Any])

_stdout: Console | None = None
_stderr: Console | None = None


@dataclass(frozen=True)
class Format:
    """How a command prints its result: human, json, nl or csv; wide for every column."""

    name: str = "human"
    wide: bool = False

    @property
    def json(self) -> bool:
        return self.name in ("json", "nl")


HUMAN = Format()


def pick(*, json_: bool = False, nl: bool = False, csv: bool = False, wide: bool = False) -> Format:
    """The one format the flags ask for; two at once is a usage error."""
    chosen = [name for name, on in (("json", json_), ("nl", nl), ("csv", csv)) if on]
    if len(chosen) > 1:
        raise typer.BadParameter(f"pick one of --{' or --'.join(chosen)}")
    return Format(chosen[0] if chosen else "human", wide=wide)


def list_options(fn: F) -> F:
    """Give a command `--json --nl --csv --wide` in place of its `fmt: Format` parameter."""
    extra = {"json_": JsonOption, "nl": NlOption, "csv_": CsvOption, "wide": WideOption}
    return _with_format(
        fn, extra, lambda kw: pick(json_=kw["json_"], nl=kw["nl"], csv=kw["csv_"], wide=kw["wide"])
    )


def json_option(fn: F) -> F:
    """Give a command `--json` in place of its `fmt: Format` parameter."""
    return _with_format(fn, {"json_": JsonOption}, lambda kw: pick(json_=kw["json_"]))


def _with_format(fn: F, extra: dict[str, Any], build: Callable[[dict[str, Any]], Format]) -> F:
    signature = inspect.signature(fn, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.name != "fmt"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=False)
        for name, kind in extra.items()
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {name: kwargs.pop(name) for name in extra}
        return fn(*args, fmt=build(flags), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*kept, *added]}
    return wrapper  # type: ignore[return-value]


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


def is_terminal() -> bool:
    """Whether stdout is a terminal, as Rich decides (FORCE_COLOR, TTY_COMPATIBLE honoured)."""
    return stdout().is_terminal


def emit(
    data: Any,
    fmt: Format = HUMAN,
    columns: Sequence[str] | None = None,
    *,
    empty: str | None = None,
) -> None:
    """Print a list (rows, with `columns` for people) or one object, as `fmt` asks."""
    if isinstance(data, Mapping):
        _emit_object(data, fmt)
        return
    rows = list(data)
    if fmt.name == "json":
        _emit_json(rows)
    elif fmt.name == "nl":
        for row in rows:
            sys.stdout.write(_json(row, indent=None) + "\n")
    elif fmt.name == "csv":
        _csv(rows, columns)
    elif not rows:
        info(empty or "nothing to list")
    else:
        table(rows, columns or list(rows[0]), wide=fmt.wide)


def done(data: Mapping[str, Any], fmt: Format, message: str) -> None:
    """What a write command did: the object as JSON, or one line on stderr for people."""
    if fmt.json:
        emit(data, fmt)
    else:
        info(message)


def _emit_object(data: Mapping[str, Any], fmt: Format) -> None:
    if fmt.json:
        line = _json(data, indent=2 if fmt.name == "json" and is_terminal() else None)
        sys.stdout.write(line + "\n")
    elif fmt.name == "csv":
        _csv([data], None)
    else:
        fields(data)


def _emit_json(data: Any) -> None:
    """One JSON document on stdout: sorted keys; pretty in a terminal, one line when piped."""
    sys.stdout.write(_json(data, indent=2 if is_terminal() else None))
    sys.stdout.write("\n")


def text(line: str) -> None:
    sys.stdout.write(clean(line) + "\n")


def _csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None) -> None:
    import csv

    names = list(columns or [])
    for row in rows:
        names.extend(key for key in row if key not in names)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_csv_cell(row.get(name)) for name in names])


def table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    wide: bool = False,
) -> None:
    """Rows for people: a table in a terminal, tab-separated columns with a header in a pipe."""
    shown = [[clean(cells.human(row.get(c), c)) for c in columns] for row in rows]
    if not is_terminal():
        text("\t".join(columns))
        for line in shown:
            text("\t".join(cells.one_line(v) for v in line))
        return
    from liveai_cli.tables import render_table

    render_table(stdout(), columns, shown, title=title, wide=wide)


STATUS_STYLES = {"ok": "green", "warn": "yellow", "off": "dim", "FAIL": "bold red"}


def checks(rows: Sequence[tuple[str, str, str]]) -> None:
    """Health checks as `name  status  detail`, the status coloured in a terminal."""
    if not is_terminal():
        table(
            [{"name": n, "status": s, "detail": d} for n, s, d in rows],
            ["name", "status", "detail"],
        )
        return
    from rich.text import Text

    width = max((len(name) for name, _, _ in rows), default=0)
    for name, status, detail in rows:
        line = Text(clean(name.ljust(width)) + "  ")
        line.append(status.ljust(4), style=STATUS_STYLES.get(status, ""))
        line.append("  " + clean(detail))
        stdout().print(line)


def _csv_cell(value: Any) -> str:
    exact = cells.exact(value)
    if isinstance(value, str) and exact[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + exact  # a spreadsheet would run it as a formula
    return exact


def _json(data: Any, *, indent: int | None) -> str:
    """JSON text with C1 controls, which JSON leaves raw, written as escapes."""
    document = cells.to_json(data, indent=indent)
    return _C1.sub(lambda found: f"\\u{ord(found.group()):04x}", document)


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


def fields(data: Mapping[str, Any]) -> None:
    """A record as aligned `key  value` lines."""
    from rich.text import Text

    width = max((len(key) for key in data), default=0)
    for key, value in data.items():
        line = Text(clean(key.ljust(width)), style="bold")
        line.append("  " + clean(cells.human(value, key)))
        stdout().print(line)


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
