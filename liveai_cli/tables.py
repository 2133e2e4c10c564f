"""Tables for a terminal that never cut an id, a key or a date.

Ids and keys always show whole. Dates show whole or not at all; other columns fold. When
the table does not fit even so, columns drop from the right, ids and keys never (the
dropped ones are named on stderr); `--wide` shows every column whole. A command orders
its columns by value, so the least useful one is the right-most.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_KEY_NAMES = {"id", "key", "task", "reference", "version", "token"}
_KEY_SUFFIXES = ("_id", "_key")
_DATE_NAMES = {"at", "date", "due", "modified", "received", "updated"}
_DATE_SUFFIXES = ("_at", "_on", "_due", "date")
_ALERTS = {"OVERDUE": "bold red"}  # a mark that must not be missed, red on a terminal
_FOLDED_MIN = 8
_GAP = 3


def is_key_column(name: str) -> bool:
    """Ids and keys: cut, they cannot be pasted back."""
    return name in _KEY_NAMES or name.endswith(_KEY_SUFFIXES)


def is_whole_column(name: str) -> bool:
    """Ids, keys and dates: shown whole or (dates only) not at all, never folded."""
    return is_key_column(name) or name in _DATE_NAMES or name.endswith(_DATE_SUFFIXES)


def natural_widths(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]


def fitting_columns(columns: Sequence[str], widths: Sequence[int], room: int) -> list[int]:
    """The indexes of the columns to show in `room` characters: keys always, others folded."""
    keep = list(range(len(columns)))

    def needed() -> int:
        return sum(
            (widths[i] if is_whole_column(columns[i]) else min(widths[i], _FOLDED_MIN)) + _GAP
            for i in keep
        )

    droppable = [i for i in reversed(keep) if not is_key_column(columns[i])]
    while needed() > room and droppable:
        keep.remove(droppable.pop(0))
    return keep


def render_table(
    console: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    wide: bool = False,
) -> None:
    from rich.table import Table
    from rich.text import Text

    widths = natural_widths(columns, rows)
    keep = list(range(len(columns))) if wide else fitting_columns(columns, widths, console.width)
    grid = Table(title=title, show_edge=False, header_style="bold")
    for i in keep:
        whole = wide or is_whole_column(columns[i])
        grid.add_column(
            columns[i],
            no_wrap=whole,
            min_width=widths[i] if whole else min(widths[i], _FOLDED_MIN),
            overflow="fold",
        )
    for row in rows:
        grid.add_row(*(Text(row[i], style=_ALERTS.get(row[i], "")) for i in keep))
    shown_widths = [widths[i] if wide or is_whole_column(columns[i]) else _FOLDED_MIN for i in keep]
    room = console.width
    console.width = max(room, sum(w + _GAP for w in shown_widths))
    try:
        console.print(grid)
    finally:
        console.width = room
    hidden = [columns[i] for i in range(len(columns)) if i not in keep]
    if hidden:
        from liveai_cli.output import info

        info(f"({', '.join(hidden)} hidden to fit; --wide shows every column)")
