from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays
import pytest

from liveai.privacy.calendar import (
    add_one_month,
    calendar_status,
    due_date,
    gdpr_due,
    is_working_day,
    load_overrides,
    nth_working_day_after,
    receipt_date,
)
from tests.conftest import Cli


def test_override_file_agrees_with_both_libraries_for_2026() -> None:
    cn = holidays.country_holidays("CN", years=2026)
    day = date(2026, 1, 1)
    while day.year == 2026:
        ours = is_working_day(day)
        assert ours == chinese_calendar.is_workday(day), day
        assert ours == cn.is_working_day(day), day
        day += timedelta(days=1)


def test_official_2026_make_up_days_are_working_days() -> None:
    makeups = load_overrides().years[2026].working_weekends
    assert {d.isoformat() for d in makeups} == {
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    }
    assert all(is_working_day(d) and d.weekday() >= 5 for d in makeups)


def test_national_day_due_date_lands_on_the_make_up_saturday() -> None:
    result = due_date(date(2026, 9, 14), working_days=15)
    assert result.due_on == date(2026, 10, 10)
    assert not result.provisional
    # a plain Monday-to-Friday count would wrongly land inside the holiday
    plain, day = 0, date(2026, 9, 14)
    while plain < 15:
        day += timedelta(days=1)
        plain += day.weekday() < 5
    assert day == date(2026, 10, 5)


def test_spring_festival_counts_the_make_up_saturdays() -> None:
    # received Monday 2026-02-09: 2/10-2/13 (4), 2/14 Sat make-up (5), holiday 2/15-2/23,
    # 2/24-2/27 (9), 2/28 Sat make-up (10), 3/2-3/6 (15)
    assert due_date(date(2026, 2, 9), working_days=15).due_on == date(2026, 3, 6)


def test_day_of_receipt_is_not_counted() -> None:
    assert nth_working_day_after(date(2026, 3, 2), 1) == (date(2026, 3, 3), False)


def test_receipt_day_is_taken_in_shanghai_time() -> None:
    late_utc = datetime(2026, 3, 2, 17, 0, tzinfo=ZoneInfo("UTC"))  # 01:00 on 3/3 in Shanghai
    assert receipt_date(late_utc) == date(2026, 3, 3)


def test_unknown_year_is_provisional_and_plain_weekdays() -> None:
    result = due_date(date(2026, 12, 21), working_days=15)
    assert result.provisional
    day, counted = date(2026, 12, 21), 0
    while counted < 15:
        day += timedelta(days=1)
        counted += day.weekday() < 5 if day.year == 2027 else is_working_day(day)
    assert result.due_on == day
    assert result.due_on <= date(2027, 1, 11)


def test_gdpr_month_arithmetic() -> None:
    assert add_one_month(date(2026, 1, 31)) == date(2026, 2, 28)
    assert add_one_month(date(2026, 12, 15)) == date(2027, 1, 15)
    assert gdpr_due(date(2026, 2, 28)) == date(2026, 3, 30)  # 3/28 is a Saturday


def test_eu_subject_gets_the_earliest_deadline() -> None:
    # National Day pushes the mainland date to 10/10; the GDPR month ends 10/14
    eu = due_date(date(2026, 9, 14), working_days=15, region="eu")
    assert (eu.due_on, eu.basis) == (date(2026, 10, 10), "cn-15-working-days")
    # with 30 working days the GDPR month comes first
    eu_long = due_date(date(2026, 9, 14), working_days=30, region="eu")
    assert (eu_long.due_on, eu_long.basis) == (date(2026, 10, 14), "gdpr-month")


@pytest.mark.parametrize(
    ("today", "warns"),
    [(date(2026, 10, 31), False), (date(2026, 11, 1), True), (date(2026, 12, 31), True)],
)
def test_status_warns_from_november(today: date, warns: bool) -> None:
    report = calendar_status(today)
    assert report.missing_next_year
    assert (report.warning is not None) is warns
    assert 2026 in report.known_years


def test_cli_due_and_status(cli_embedded: Cli) -> None:
    due = cli_embedded("calendar", "due", "2026-09-14", "--json")
    assert due.exit_code == 0, due.output
    assert json.loads(due.stdout)["due_on"] == "2026-10-10"
    bad = cli_embedded("calendar", "due", "14/09/2026")
    assert bad.exit_code == 2 and "not a date" in bad.stderr
    strict = cli_embedded("calendar", "status", "--today", "2026-11-28", "--strict")
    assert strict.exit_code == 1 and "2027" in strict.stderr
    calm = cli_embedded("calendar", "status", "--today", "2026-06-01", "--strict")
    assert calm.exit_code == 0
