"""What docs/ shows runs as written (the report's screenshot is taken by
tests/privacy/test_report.py)."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_app_backend_lines_in_docs_run(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The snippet a backend copies, run as written against a real session (the token
    check itself is tested in test_auth_*: here it returns the user's principal)."""
    import re

    from liveai.identity.tokens import Principal, VerifiedToken
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
    monkeypatch.setattr(
        "liveai.identity.tokens.authenticate", lambda s, t, verifier: Principal(user, token)
    )
    exec(compile(snippet, "requests-from-the-app.md", "exec"), scope)
    request = scope["request"]
    assert isinstance(request, PrivacyRequest) and request.state is RequestState.VERIFIED
    assert request.channel == "in-app" and request.user_id == user.id


def test_the_app_backend_needs_five_lines(session) -> None:  # type: ignore[no-untyped-def]
    """The issue promises a backend five lines; the kind is taken as the app sends it."""
    import re

    import pytest

    from liveai.errors import InvalidInput
    from liveai.identity.tokens import Principal, VerifiedToken
    from liveai.models import RequestKind
    from liveai.privacy.requests import open_from_app
    from liveai.users import create_user

    text = (DOCS / "requests-from-the-app.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len([line for line in snippet.splitlines() if line.strip()]) == 5
    user = create_user(session, issuer="https://i/oidc", subject="five-lines")
    token = VerifiedToken(
        provider="logto", issuer="https://i/oidc", subject="five-lines", claims={}
    )
    request = open_from_app(session, Principal(user, token), "export")
    assert request.kind is RequestKind.EXPORT
    with pytest.raises(InvalidInput, match="'erase-me' is not a request kind"):
        open_from_app(session, Principal(user, token), "erase-me")
