"""One reading of a moment typed by a person: a date, a local time, or an ISO time with
a zone. Dates and local times are read in the given zone (the deadline zone), so
`requests open --received` and `retention sweep --now` agree on what "2026-10-20" means.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from liveai.errors import InvalidInput

EXAMPLES = "2026-10-20, 2026-10-20T09:30 or 2026-10-20T09:30+08:00"


def parse_moment(value: str, zone: ZoneInfo) -> datetime:
    """A date is the start of that day in `zone`; a time without a zone is in `zone`."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=zone)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not a date or an ISO 8601 time", hint=f"use e.g. {EXAMPLES}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def in_zone(moment: datetime, zone: ZoneInfo, *, timespec: str = "minutes") -> str:
    """A moment as ISO 8601 in `zone` (the offset is part of it), to the minute."""
    return moment.astimezone(zone).isoformat(timespec=timespec)


def utc_text(moment: datetime) -> str:
    """Exact, in UTC, as JSON shows times (a naive moment, as SQLite hands it back, is UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()
