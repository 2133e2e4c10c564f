"""The deadline report as a document: a self-contained HTML page (inline CSS and SVG,
nothing fetched), one CSV row per request, or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import jinja2
from markupsafe import Markup

from liveai.errors import InvalidInput
from liveai.privacy import charts
from liveai.privacy.calendar import is_working_day
from liveai.privacy.report import CSV_COLUMNS, Report

FORMATS = ("html", "csv", "json")


def render_report(report: Report, fmt: str) -> str:
    if fmt == "html":
        return render_html(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2, sort_keys=True, default=str) + "\n"
    raise InvalidInput(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for timeline in report.requests:
        values = timeline.__dict__
        writer.writerow(_csv_cell(values[column]) for column in CSV_COLUMNS)
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def render_html(report: Report) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("liveai", "templates/report"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(
        r=report, charts=_charts(report), percent=_percent
    )


def _charts(report: Report) -> dict[str, Markup]:
    due: dict[date, int] = {}
    overdue: set[date] = set()
    for timeline in [*report.requests, *report.due_soon]:
        if timeline.completed_on is None and timeline.state != "refused":
            due[timeline.due_on] = due.get(timeline.due_on, 0) + 1
            if timeline.due_on < report.today:
                overdue.add(timeline.due_on)
    last = max([report.due_soon_until, *due])
    months = charts.months_between(report.period_from, last)
    # Markup: the chart code escapes every value it places in the SVG.
    return {
        "calendar": Markup(charts.due_calendar(months, due, overdue, report.today, is_working_day)),
        "weekly": Markup(charts.weekly_bars(report.weekly())),
        "timeline": Markup(charts.request_timelines(report.requests, report.today)),
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"
