"""Deadlines for data-subject requests: mainland working days and the GDPR month.

A mainland deadline is the Nth working day after the day of receipt (the day of receipt
is not counted, PRC Civil Code art. 201), on the official arrangement of holidays and
make-up working weekends. The arrangement comes from the calendar file first (the packaged
one, or the operator's own when the `calendar_file` setting names one; it is checked when
loaded), then the chinese-calendar library. A year known to neither is *provisional*:
counted plainly Monday to Friday and flagged, so that the request can be re-dated once the
State Council notice is loaded. Days are days in the deadline zone (Asia/Shanghai unless
the `deadline_timezone` setting says otherwise).
"""

from __future__ import annotations

import calendar as month_calendar
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from liveai.errors import ConfigError

SHANGHAI = ZoneInfo("Asia/Shanghai")
PACKAGED_FILE = "liveai/privacy/data/cn_calendar.toml"
Jurisdiction = Literal["cn", "eu"]


@dataclass(frozen=True)
class YearArrangement:
    year: int
    days_off: frozenset[date]
    working_weekends: frozenset[date]
    source: str


@dataclass(frozen=True)
class Overrides:
    version: str
    years: dict[int, YearArrangement]


@dataclass(frozen=True)
class DeadlineConfig:
    """The zone days are counted in, and the operator's calendar file (None: packaged)."""

    zone: ZoneInfo = SHANGHAI
    calendar_file: Path | None = None


_config = DeadlineConfig()


def configure(*, zone: str = "Asia/Shanghai", calendar_file: Path | None = None) -> None:
    """Count days in this zone on this calendar file from now on; the file is checked now."""
    global _config
    try:
        zone_info = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {zone!r}", hint="set deadline_timezone to e.g. Asia/Shanghai"
        ) from None
    path = calendar_file.expanduser().resolve() if calendar_file else None
    if path is not None:
        _load_file(path)
    _config = DeadlineConfig(zone_info, path)


def deadline_zone() -> ZoneInfo:
    return _config.zone


def calendar_file_in_force() -> str:
    return str(_config.calendar_file) if _config.calendar_file else f"{PACKAGED_FILE} (packaged)"


def load_overrides() -> Overrides:
    if _config.calendar_file is not None:
        return _load_file(_config.calendar_file)
    return _packaged()


@cache
def _packaged() -> Overrides:
    text = resources.files("liveai.privacy").joinpath("data/cn_calendar.toml").read_text("utf-8")
    return parse_overrides(tomllib.loads(text))


def _load_file(path: Path) -> Overrides:
    """The file as it is now: read again whenever it changes."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the calendar file {path}: {exc.strerror}",
            hint="fix the calendar_file setting, or unset it to use the packaged calendar",
        ) from None
    return _read_file(path, stat.st_mtime_ns, stat.st_size)


@cache
def _read_file(path: Path, mtime_ns: int, size: int) -> Overrides:
    hint = "fix the file, or unset calendar_file to use the packaged calendar"
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read the calendar file {path}: {exc.strerror}", hint=hint
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the calendar file {path} is not valid TOML: {exc}", hint=hint) from None
    try:
        return parse_overrides(raw)
    except ValueError as exc:
        raise ConfigError(f"the calendar file {path}: {exc}", hint=hint) from None


def parse_overrides(raw: dict[str, Any]) -> Overrides:
    """Check and read a calendar document; ValueError names the first thing wrong."""
    version = raw.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ValueError('it needs a version string, e.g. version = "2027.1"')
    years = raw.get("years", {})
    if not isinstance(years, dict):
        raise ValueError("[years] must be a table of years")
    parsed = {_year(key): _arrangement(_year(key), entry) for key, entry in years.items()}
    return Overrides(version=version, years=parsed)


def _year(key: str) -> int:
    if not key.isdigit() or not 2000 <= int(key) <= 2100:
        raise ValueError(f"[years.{key}]: a year must be a number between 2000 and 2100")
    return int(key)


def _arrangement(year: int, entry: Any) -> YearArrangement:
    if not isinstance(entry, dict):
        raise ValueError(f"[years.{year}] must be a table")
    days_off = _days(year, entry, "days_off")
    weekends = _days(year, entry, "working_weekends")
    for day in sorted(weekends):
        if day.weekday() < 5:
            raise ValueError(f"[years.{year}] working_weekends: {day} is not a Saturday or Sunday")
    both = days_off & weekends
    if both:
        raise ValueError(f"[years.{year}] {min(both)} is both a day off and a working day")
    return YearArrangement(year, days_off, weekends, str(entry.get("source", "")))


def _days(year: int, entry: dict[str, Any], name: str) -> frozenset[date]:
    values = entry.get(name, [])
    if not isinstance(values, list):
        raise ValueError(f"[years.{year}] {name} must be a list of dates")
    for value in values:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValueError(f"[years.{year}] {name}: {value!r} is not a date like {year}-10-01")
        if value.year != year:
            raise ValueError(f"[years.{year}] {name}: {value} is not in {year}")
    return frozenset(values)


def library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def year_is_known(year: int) -> bool:
    return year in load_overrides().years or library_knows(year)


def is_working_day(day: date) -> bool:
    """True on a mainland working day; Monday to Friday for a year not yet published."""
    arrangement = load_overrides().years.get(day.year)
    if arrangement is not None:
        if day in arrangement.working_weekends:
            return True
        return day.weekday() < 5 and day not in arrangement.days_off
    if library_knows(day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def nth_working_day_after(start: date, n: int) -> tuple[date, bool]:
    """The nth working day after `start`, and whether any year on the way is provisional."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day, counted, provisional = start, 0, False
    while counted < n:
        day += timedelta(days=1)
        provisional = provisional or not year_is_known(day.year)
        if is_working_day(day):
            counted += 1
    return day, provisional


def add_one_month(day: date) -> date:
    """Same date next month, or that month's last day when it has no such date."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    last = month_calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def gdpr_due(received: date) -> date:
    """One month from receipt (Regulation 1182/71), moved off a weekend to the next Monday.

    Member-state public holidays vary by subject and are not rolled over here.
    """
    due = add_one_month(received)
    while due.weekday() >= 5:
        due += timedelta(days=1)
    return due


@dataclass(frozen=True)
class DueDate:
    received_on: date
    due_on: date
    basis: str
    provisional: bool
    cn_due: date
    gdpr_due: date | None
    calendar_version: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "received_on": self.received_on.isoformat(),
            "due_on": self.due_on.isoformat(),
            "basis": self.basis,
            "provisional": self.provisional,
            "cn_due": self.cn_due.isoformat(),
            "gdpr_due": self.gdpr_due.isoformat() if self.gdpr_due else None,
            "calendar_version": self.calendar_version,
        }


def receipt_date(received_at: datetime) -> date:
    """The day a moment falls on in the deadline zone."""
    if received_at.tzinfo is None:
        raise ValueError("the receipt time needs a time zone")
    return received_at.astimezone(deadline_zone()).date()


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`; negative when `end` is earlier."""
    low, high = sorted((start, end))
    count = sum(is_working_day(low + timedelta(days=n)) for n in range(1, (high - low).days + 1))
    return count if end >= start else -count


def due_date(received: date, *, working_days: int, region: Jurisdiction = "cn") -> DueDate:
    """The earliest deadline that applies: mainland working days, and for EU subjects
    the GDPR month."""
    cn_due, provisional = nth_working_day_after(received, working_days)
    eu_due = gdpr_due(received) if region == "eu" else None
    gdpr_first = eu_due is not None and eu_due < cn_due
    return DueDate(
        received_on=received,
        due_on=eu_due if gdpr_first and eu_due else cn_due,
        basis="gdpr-month" if gdpr_first else f"cn-{working_days}-working-days",
        provisional=provisional and not gdpr_first,
        cn_due=cn_due,
        gdpr_due=eu_due,
        calendar_version=load_overrides().version,
    )


@dataclass(frozen=True)
class CalendarStatus:
    today: date
    known_years: list[int]
    missing_next_year: bool
    warning: str | None
    calendar_version: str
    calendar_file: str


def calendar_status(today: date) -> CalendarStatus:
    """Which years are known; from November on, warn when next year is still missing."""
    known = sorted(y for y in range(today.year - 2, today.year + 3) if year_is_known(y))
    missing = not year_is_known(today.year + 1)
    warning = None
    if missing and today.month >= 11:
        warning = (
            f"the {today.year + 1} holiday arrangement is not loaded: deadlines reaching into "
            f"{today.year + 1} are provisional; once the State Council notice is out, add it "
            "to your own calendar file (the calendar_file setting; in force now: "
            f"{calendar_file_in_force()}) or upgrade chinese-calendar"
        )
    return CalendarStatus(
        today, known, missing, warning, load_overrides().version, calendar_file_in_force()
    )
