"""The deadline report: its figures from a register built on fixed clocks, its formats,
and the HTML page rendered in a real headless Chromium."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import struct
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from liveai.clock import FixedClock
from liveai.models import PrivacyRequest, RequestKind
from liveai.privacy import requests as reg
from liveai.privacy import steps as manual
from liveai.privacy.report import build_report
from liveai.privacy.report_render import render_report
from liveai.users import create_user
from tests.conftest import Cli
from tests.privacy.chromium import Browser, chromium_or_skip, evaluate, load_page

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 20)
DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "requests-report.png"
SHOT_WIDTH = 1100


def _at(day: date, hour: int = 10) -> FixedClock:
    return FixedClock(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))


def _request(
    session: Session, n: int, kind: RequestKind, received: date, region: str = "cn"
) -> PrivacyRequest:
    user = create_user(session, issuer="https://i/oidc", subject=f"report-{n}")
    clock = FixedClock(
        datetime(received.year, received.month, received.day, 10, n, tzinfo=SHANGHAI)
    )
    request = reg.open_request(
        session, user.id, kind=kind, received_at=clock.now(), channel="email",
        region=region, working_days=15, clock=clock,
    )  # fmt: skip
    return request


def _verified(
    session: Session, n: int, kind: RequestKind, received: date, region: str = "cn"
) -> PrivacyRequest:
    request = _request(session, n, kind, received, region)
    reg.verify_manually(session, request, "checked", clock=_at(received, 15))
    return request


def seed_register(session: Session) -> dict[str, str]:
    """Seven requests: on time, late with a reason, extended, refused, awaiting steps by
    hand, open and due soon, and open and overdue."""
    on_time = _verified(session, 1, RequestKind.EXPORT, date(2026, 9, 14))
    reg.complete(session, on_time, clock=_at(date(2026, 9, 30)))  # due 2026-10-10
    late = _verified(session, 2, RequestKind.EXPORT, date(2026, 9, 14))
    reg.complete(session, late, note="archive restore from cold storage", clock=_at(TODAY))
    extended = _verified(session, 3, RequestKind.DELETION, date(2026, 10, 12), region="eu")
    reg.extend(session, extended, "hundreds of works to collect", clock=_at(date(2026, 10, 20)))
    refused = _request(session, 4, RequestKind.CORRECTION, date(2026, 10, 19))
    reg.refuse(session, refused, "identity could not be verified", clock=_at(date(2026, 10, 26)))
    waiting = _verified(session, 5, RequestKind.DELETION, date(2026, 11, 2))
    manual.finish_work(
        session, waiting, [("apple", "revoke Sign in with Apple")], clock=_at(date(2026, 11, 5))
    )
    soon = _verified(session, 6, RequestKind.EXPORT, date(2026, 11, 16))
    overdue = _request(session, 7, RequestKind.GUARDIAN, date(2026, 10, 8))
    named = {"on_time": on_time, "late": late, "extended": extended, "refused": refused}
    named |= {"waiting": waiting, "soon": soon, "overdue": overdue}
    return {name: str(request.id) for name, request in named.items()}


def test_the_report_figures(session: Session) -> None:
    ids = seed_register(session)
    report = build_report(session, date(2026, 9, 1), TODAY, TODAY)
    assert [t.id for t in report.requests] == [
        ids[n] for n in ("on_time", "late", "overdue", "extended", "refused", "waiting", "soon")
    ]
    assert report.on_time_rate == 0.5
    assert [t.id for t in report.late] == [ids["late"]]
    late = report.late[0]
    assert late.completion_note == "archive restore from cold storage"
    assert late.due_on == date(2026, 10, 10) and late.working_days_late == 30
    export = report.per_kind["export"]
    assert (export.received, export.completed) == (3, 2)
    assert export.worst_working_days == 45 and export.median_working_days == 28.5
    assert [t.extension_reason for t in report.extensions] == ["hundreds of works to collect"]
    assert report.extensions[0].extended_on == date(2026, 10, 20)
    assert [t.refusal_reason for t in report.refusals] == ["identity could not be verified"]
    assert report.open_steps == [
        {"request_id": ids["waiting"], "step": "apple", "description": "revoke Sign in with Apple"}
    ]
    assert report.due_soon_until == date(2026, 12, 11)
    due_soon = {t.id: t.working_days_left for t in report.due_soon}
    overdue, soon = due_soon[ids["overdue"]], due_soon[ids["soon"]]
    assert overdue is not None and overdue < 0 and soon is not None and soon > 0
    assert ids["waiting"] in due_soon and ids["extended"] not in due_soon  # due 2027-01-12
    timeline = next(t for t in report.requests if t.id == ids["on_time"])
    assert timeline.verified_on == date(2026, 9, 14) and timeline.working_days_to_complete == 12
    weeks = dict(report.weekly())
    assert weeks[date(2026, 9, 14)] == {"export": 2} and weeks[date(2026, 9, 21)] == {}


def test_csv_and_json(session: Session) -> None:
    ids = seed_register(session)
    report = build_report(session, date(2026, 9, 1), TODAY, TODAY)
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    by_id = {row["id"]: row for row in rows}
    assert by_id[ids["late"]]["on_time"] == "false"
    assert by_id[ids["late"]]["working_days_late"] == "30"
    assert by_id[ids["waiting"]]["open_steps"] == "apple"
    document = json.loads(render_report(report, "json"))
    assert document["on_time_rate"] == 0.5 and len(document["late"]) == 1
    assert document["per_kind"]["export"]["worst_working_days"] == 45


def _html(session: Session) -> str:
    seed_register(session)
    return render_report(build_report(session, date(2026, 9, 1), TODAY, TODAY), "html")


def test_the_html_is_self_contained_and_marks_the_calendar(session: Session) -> None:
    page = _html(session)
    assert re.findall(r"(?:src|href)=\"(?!#)", page) == []  # nothing to fetch
    assert "<script" not in page
    for chart in ("chart-calendar", "chart-weekly", "chart-timeline"):
        assert page.count(chart) == 1
    assert 'class="holiday" data-day="2026-10-01"' in page  # National Day
    assert 'class="makeup" data-day="2026-10-10"' in page  # make-up Saturday
    assert 'class="weekend" data-day="2026-10-11"' in page
    assert page.count('class="due overdue"') >= 1
    assert page.count('<g class="timeline"') == 7


def test_the_cli_report(cli: Cli, tmp_path: Path) -> None:
    assert cli("users", "create", "--issuer", "https://i/oidc", "--sub", "r1").exit_code == 0
    opened = cli("requests", "open", "--user", "r1", "--kind", "export", "--received",
                 "2026-11-02", "--channel", "email")  # fmt: skip
    assert opened.exit_code == 0, opened.output
    printed = cli("requests", "report", "--from", "2026-11-01", "--format", "csv")
    assert printed.exit_code == 0, printed.output
    assert len(list(csv.DictReader(io.StringIO(printed.stdout)))) == 1
    out = tmp_path / "report.html"
    written = cli("requests", "report", "--from", "2026-11-01", "--out", str(out))
    assert written.exit_code == 0 and "1 requests" in written.stderr
    assert "chart-calendar" in out.read_text() and out.stat().st_mode & 0o077 == 0
    assert cli("requests", "report", "--format", "pdf").exit_code == 2
    backwards = cli("requests", "report", "--from", "2026-11-02", "--to", "2026-11-01")
    assert backwards.exit_code == 2 and "after" in backwards.stderr


@pytest.fixture
def browser() -> Iterator[Browser]:
    started = Browser(chromium_or_skip())
    yield started
    started.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_report_renders_in_headless_chromium(
    session: Session, browser: Browser, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(_html(session), encoding="utf-8")
    tab, problems = load_page(browser, page)
    assert problems == []
    charts = evaluate(
        browser,
        tab,
        "[...document.querySelectorAll('svg.chart')].map(s => {"
        " const box = s.getBoundingClientRect();"
        " return [s.classList[1], Math.round(box.width), Math.round(box.height)]; })",
    )
    assert [c[0] for c in charts] == ["chart-calendar", "chart-weekly", "chart-timeline"]
    assert all(width > 100 and height > 100 for _, width, height in charts)
    counts = evaluate(
        browser,
        tab,
        "({holidays: document.querySelectorAll('rect.holiday').length,"
        " makeup: document.querySelectorAll('rect.makeup').length,"
        " due: document.querySelectorAll('circle.due').length,"
        " bars: document.querySelectorAll('rect.bar').length,"
        " timelines: document.querySelectorAll('g.timeline').length,"
        " rate: document.getElementById('on-time-rate').textContent})",
    )
    assert counts["holidays"] >= 5 and counts["makeup"] >= 1 and counts["due"] >= 3
    assert counts["bars"] >= 5 and counts["timelines"] == 7 and counts["rate"] == "50%"
    png = _screenshot(browser, tab)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    # The README's picture of the report is this screenshot (UPDATE_DOCS_IMAGES=1 retakes it)
    if os.environ.get("UPDATE_DOCS_IMAGES"):
        with Image.open(io.BytesIO(png)) as shown:  # 64 colours: a quarter of the bytes
            shown.quantize(64).save(DOCS_SHOT, optimize=True)
    assert _png_size(DOCS_SHOT.read_bytes())[0] == _png_size(png)[0]


def _screenshot(browser: Browser, tab: str) -> bytes:
    """The whole page at a laptop's width."""
    metrics = {"width": SHOT_WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    browser.send("Emulation.setDeviceMetricsOverride", metrics, session=tab)
    shot = browser.send(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=tab
    )
    return base64.b64decode(shot["data"])


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    return width, height


@pytest.mark.parametrize("ci", ["1", "true", ""])
def test_without_chromium_the_browser_test_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    import tests.privacy.chromium

    monkeypatch.setattr(tests.privacy.chromium, "CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match="chromium is not installed"):
        chromium_or_skip()
