"""The pictures in docs/ are drawn by the project's own chart code, not pasted in: each
is compared with what the code draws now (UPDATE_DOCS_IMAGES=1 rewrites them)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

from liveai.privacy import charts
from liveai.privacy.calendar import is_working_day

DOCS = Path(__file__).resolve().parent.parent / "docs"


def calendar_picture() -> str:
    """The report's due-date calendar for a sample register, autumn 2026."""
    due = {date(2026, 10, 10): 2, date(2026, 10, 28): 1, date(2026, 11, 23): 1}
    due[date(2026, 12, 7)] = 1
    months = charts.months_between(date(2026, 9, 1), date(2026, 12, 31))
    return charts.due_calendar(
        months, due, {date(2026, 10, 28)}, date(2026, 11, 20), is_working_day
    )


def test_the_report_calendar_picture_in_docs_is_current() -> None:
    path = DOCS / "report-calendar.svg"
    drawn = calendar_picture() + "\n"
    if os.environ.get("UPDATE_DOCS_IMAGES"):
        path.write_text(drawn, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == drawn
    root = ET.fromstring(drawn)
    marked = {
        e.get("data-day"): e.get("class") for e in root.iter("{http://www.w3.org/2000/svg}rect")
    }
    assert marked["2026-10-01"] == "holiday" and marked["2026-10-10"] == "makeup"


def test_the_app_backend_lines_in_docs_run(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The snippet a backend copies, run as written against a real session (the token
    check itself is tested in test_auth_*: here it returns the user's principal)."""
    import re

    from liveai.auth import Principal, VerifiedToken
    from liveai.models import PrivacyRequest, RequestState
    from liveai.users import create_user

    text = (DOCS / "requests-from-the-app.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(r"```python\n(.*?)```", text, re.S)
    user = create_user(session, issuer="https://i/oidc", subject="app-user")
    token = VerifiedToken(provider="logto", issuer="https://i/oidc", subject="app-user", claims={})

    class Database:
        def transaction(self):  # type: ignore[no-untyped-def]
            from contextlib import nullcontext

            return nullcontext(session)

    scope = {"database": Database(), "bearer_token": "t", "verifier": None}
    monkeypatch.setattr("liveai.auth.authenticate", lambda s, t, verifier: Principal(user, token))
    exec(compile(snippet, "requests-from-the-app.md", "exec"), scope)
    request = scope["request"]
    assert isinstance(request, PrivacyRequest) and request.state is RequestState.VERIFIED
    assert request.channel == "in-app" and request.user_id == user.id
