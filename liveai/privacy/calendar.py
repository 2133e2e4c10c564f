"""Deadlines for data-subject requests: mainland working days and the GDPR month.

A mainland deadline is the Nth working day after the day of receipt (the day of receipt
is not counted, PRC Civil Code art. 201), on the official arrangement of holidays and
make-up working weekends. The arrangement comes from the package's override file first,
then the chinese-calendar library. A year known to neither is *provisional*: counted
plainly Monday to Friday and flagged, so that the request can be re-dated once the State
Council notice is loaded.
"""

from __future__ import annotations

import calendar as month_calendar
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
Region = Literal["cn", "eu"]


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


@cache
def load_overrides() -> Overrides:
    text = resources.files("liveai.privacy").joinpath("data/cn_calendar.toml").read_text("utf-8")
    return parse_overrides(tomllib.loads(text))


def parse_overrides(raw: dict[str, Any]) -> Overrides:
    years = {
        int(year): YearArrangement(
            year=int(year),
            days_off=frozenset(entry.get("days_off", [])),
            working_weekends=frozenset(entry.get("working_weekends", [])),
            source=str(entry.get("source", "")),
        )
        for year, entry in raw.get("years", {}).items()
    }
    return Overrides(version=str(raw["version"]), years=years)


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
    if received_at.tzinfo is None:
        raise ValueError("the receipt time needs a time zone")
    return received_at.astimezone(SHANGHAI).date()


def due_date(received: date, *, working_days: int, region: Region = "cn") -> DueDate:
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


def calendar_status(today: date) -> CalendarStatus:
    """Which years are known; from November on, warn when next year is still missing."""
    known = sorted(y for y in range(today.year - 2, today.year + 3) if year_is_known(y))
    missing = not year_is_known(today.year + 1)
    warning = None
    if missing and today.month >= 11:
        warning = (
            f"the {today.year + 1} holiday arrangement is not loaded: deadlines reaching into "
            f"{today.year + 1} are provisional; add it to liveai/privacy/data/cn_calendar.toml "
            "or upgrade chinese-calendar once the State Council notice is out"
        )
    return CalendarStatus(today, known, missing, warning, load_overrides().version)
