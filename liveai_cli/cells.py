"""How one value reads: for people (tables, fields), exactly (CSV) and as JSON.

People see `yes`/`no`, times to the second in the operator's zone with the zone named,
byte counts like `1.4 MB` and `key=value` pairs; never a Python repr. CSV and JSON keep
the exact value: UTC times, whole byte counts.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
_BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")


def is_bytes_column(column: str) -> bool:
    return column == "size" or column.endswith("bytes")


def human(value: Any, column: str = "") -> str:
    """One value as a person reads it in a table cell or a `key  value` line."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and is_bytes_column(column):
        return human_bytes(value)
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return local_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
    if isinstance(value, timedelta):
        return human_duration(value)
    if isinstance(value, enum.Enum):
        return human(value.value, column)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={human(v, str(k))}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(human(v, column) for v in value) or "-"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return human(dataclasses.asdict(value), column)
    return str(value)


def local_time(value: datetime) -> str:
    """To the second, in the operator's zone, the zone shown (naive times are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone()
    zone = local.strftime("%Z")
    if not zone or not zone.isalpha():
        zone = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {zone}"


def zoned(value: str, zone: tzinfo) -> str:
    """An exact ISO time as people read it in a named zone (the deadline zone), to the second."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S} {zone}"


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in _BYTE_UNITS:
        if abs(size) < 1000 or unit == _BYTE_UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def human_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    if days and not rest:
        return f"{days} day{'' if days == 1 else 's'}"
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days} d {clock}" if days else clock


def one_line(value: str) -> str:
    """A cell of tab-separated output: no tab or line break inside."""
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def exact(value: Any) -> str:
    """One value for a CSV cell: exact, with nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list, tuple)):
        return to_json(value, indent=None)
    return str(plain(value))


def plain(value: Any) -> Any:
    """A JSON-able stand-in for values json does not know: UTC times, ids, paths."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (uuid.UUID, Path)):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def to_json(data: Any, *, indent: int | None) -> str:
    return json.dumps(
        data,
        indent=indent,
        sort_keys=True,
        ensure_ascii=False,
        default=plain,
    )
