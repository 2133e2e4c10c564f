"""The report's pictures as inline SVG, drawn here so the page opens offline with nothing
fetched: a calendar of due dates over the mainland working-day arrangement, requests per
week by kind, and a timeline per request. Output is deterministic for the same input.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable, Sequence
from datetime import date
from html import escape

from liveai.privacy.report import Timeline

KIND_COLOURS = {
    "export": "#2f6fb3",
    "deletion": "#b33a3a",
    "correction": "#7a5cb3",
    "guardian": "#c07a12",
    "objection": "#3a8a5c",
}
CELL = 26
MONTH_W = CELL * 7 + 16
MONTH_H = CELL * 7 + 28


def _svg(kind: str, width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'font-family="sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, value: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:g}" y="{y:g}"{extra}>{escape(value)}</text>'


def months_between(first: date, last: date) -> list[tuple[int, int]]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def due_calendar(
    months: Sequence[tuple[int, int]],
    due: dict[date, int],
    overdue: set[date],
    today: date,
    is_working_day: Callable[[date], bool],
) -> str:
    """Month grids: holidays and make-up working days marked, due dates circled with the
    number of requests due (red when one of them is overdue)."""
    per_row = 3
    rows = (len(months) + per_row - 1) // per_row
    width, height = per_row * MONTH_W, rows * MONTH_H + 30
    body = [_calendar_legend(height - 12)]
    for index, (year, month) in enumerate(months):
        x0, y0 = (index % per_row) * MONTH_W, (index // per_row) * MONTH_H
        body.append(_month(x0, y0, year, month, due, overdue, today, is_working_day))
    return _svg("calendar", width, height, "Due dates on the mainland working-day calendar", body)


def _month(
    x0: int,
    y0: int,
    year: int,
    month: int,
    due: dict[date, int],
    overdue: set[date],
    today: date,
    is_working_day: Callable[[date], bool],
) -> str:
    parts = [_text(x0 + 4, y0 + 14, f"{year}-{month:02d}", font_weight="bold")]
    for col, name in enumerate("MTWTFSS"):
        parts.append(_text(x0 + 4 + col * CELL + 8, y0 + 28, name, fill="#666"))
    for week, days in enumerate(month_calendar.Calendar().monthdatescalendar(year, month)):
        for col, day in enumerate(days):
            if day.month != month:
                continue
            x, y = x0 + 4 + col * CELL, y0 + 32 + week * CELL
            parts.append(_day_cell(x, y, day, is_working_day(day), today))
            if day in due:
                colour = "#c62828" if day in overdue else "#1f5fa8"
                cls = "due overdue" if day in overdue else "due"
                parts.append(
                    f'<circle class="{cls}" cx="{x + CELL / 2 - 1:g}" cy="{y + CELL / 2 - 1:g}" '
                    f'r="{CELL / 2 - 2:g}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
                if due[day] > 1:
                    parts.append(_text(x + CELL - 8, y + 8, str(due[day]), fill=colour))
    return "<g>" + "".join(parts) + "</g>"


def _day_cell(x: int, y: int, day: date, working: bool, today: date) -> str:
    weekend = day.weekday() >= 5
    if working and weekend:
        cls, fill = "makeup", "#ffe9a8"
    elif not working and not weekend:
        cls, fill = "holiday", "#f7c6c6"
    elif not working:
        cls, fill = "weekend", "#eeeeee"
    else:
        cls, fill = "workday", "#ffffff"
    outline = ' stroke="#000" stroke-width="1.5"' if day == today else ' stroke="#ddd"'
    return (
        f'<rect class="{cls}" data-day="{day.isoformat()}" x="{x}" y="{y}" '
        f'width="{CELL - 2}" height="{CELL - 2}" fill="{fill}"{outline}/>'
        + _text(x + 5, y + 16, str(day.day))
    )


def _calendar_legend(y: int) -> str:
    items = [
        ("#f7c6c6", "holiday (day off)"),
        ("#ffe9a8", "make-up working day"),
        ("#eeeeee", "weekend"),
    ]
    parts, x = [], 4
    for fill, label in items:
        parts.append(f'<rect x="{x}" y="{y - 9}" width="12" height="12" fill="{fill}"/>')
        parts.append(_text(x + 16, y + 1, label))
        x += 150
    parts.append(
        f'<circle cx="{x + 6}" cy="{y - 3}" r="6" fill="none" stroke="#1f5fa8" stroke-width="2"/>'
    )
    parts.append(_text(x + 16, y + 1, "due (red: overdue)"))
    return "".join(parts)


def weekly_bars(weeks: Sequence[tuple[date, dict[str, int]]]) -> str:
    """Stacked bars: requests received per week, coloured by kind."""
    left, bottom, bar, gap = 36, 40, 22, 8
    width = left + max(len(weeks), 1) * (bar + gap) + 150
    height = 220
    top = max((sum(kinds.values()) for _, kinds in weeks), default=0) or 1
    scale = (height - bottom - 20) / top
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 150}" '
        f'y2="{height - bottom}" stroke="#333"/>',
        _text(4, 16, f"max {top}", fill="#666"),
    ]
    for index, (week, kinds) in enumerate(weeks):
        x, y = left + index * (bar + gap), float(height - bottom)
        for kind, colour in KIND_COLOURS.items():
            count = kinds.get(kind, 0)
            if count:
                h = count * scale
                y -= h
                body.append(
                    f'<rect class="bar" data-week="{week.isoformat()}" data-kind="{kind}" '
                    f'x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{week.isoformat()}: {count} {kind}</title></rect>"
                )
        body.append(
            _text(x + 2, height - bottom + 14, week.strftime("%m-%d"), font_size="9", fill="#333")
        )
    for index, (kind, colour) in enumerate(KIND_COLOURS.items()):
        y = 20 + index * 18
        body.append(
            f'<rect x="{width - 140}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
        )
        body.append(_text(width - 124, y, kind))
    return _svg("weekly", width, height, "Requests received per week, by kind", body)


def request_timelines(rows: Sequence[Timeline], today: date) -> str:
    """One line per request from receipt to completion (or refusal, or today), with the
    verification, the due date, and the completion marked green on time or red late;
    a refused request is grey."""
    label_w, row_h, day_w = 270, 22, 6
    days = [today]
    for row in rows:
        days.extend(d for d in (row.received_on, row.due_on, row.completed_on) if d)
    start, span = min(days), (max(days) - min(days)).days + 1
    width = label_w + span * day_w + 20
    height = max(len(rows), 1) * row_h + 30

    def x(day: date) -> int:
        return label_w + (day - start).days * day_w

    body = [_text(label_w, 12, f"{start.isoformat()} to {max(days).isoformat()}")]
    body.append(
        f'<line x1="{x(today)}" y1="16" x2="{x(today)}" y2="{height}" '
        'stroke="#888" stroke-dasharray="3 3"/>'
    )
    for index, row in enumerate(rows):
        body.append(_timeline_row(row, 30 + index * row_h, today, x))
    return _svg("timeline", width, height, "Each request from receipt to completion", body)


def _timeline_row(row: Timeline, y: int, today: date, x: Callable[[date], int]) -> str:
    end = row.completed_on or row.refused_on or today
    late = row.on_time is False or (row.completed_on is None and row.due_on < end)
    colour = "#c62828" if late else ("#999999" if row.refused_on else "#2e7d32")
    parts = [
        _text(4, y + 4, row.id, font_family="monospace", font_size="10"),
        f'<g class="timeline" data-request="{escape(row.id)}">',
        f'<line x1="{x(row.received_on)}" y1="{y}" x2="{x(end)}" y2="{y}" '
        f'stroke="{colour}" stroke-width="4"/>',
        f'<line class="due" x1="{x(row.due_on)}" y1="{y - 7}" x2="{x(row.due_on)}" '
        f'y2="{y + 7}" stroke="#000" stroke-width="2"/>',
    ]
    if row.verified_on:
        vx = x(row.verified_on)
        parts.append(f'<path class="verified" d="M{vx} {y - 5} l5 5 l-5 5 l-5 -5 z" fill="#555"/>')
    if row.completed_on:
        parts.append(
            f'<circle class="completed" cx="{x(row.completed_on)}" cy="{y}" r="5" fill="{colour}"/>'
        )
    return "".join(parts) + "</g>"
