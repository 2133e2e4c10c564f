"""Database URLs as they may be shown: every password and key-file reference masked.

A password can sit in the userinfo (``user:secret@host``) or in the query
(``?password=``, ``?sslpassword=``, and ``?passfile=`` naming the file that holds it); a URL
that cannot be parsed is shown as its scheme alone, since where its secret is is unknown.
"""

from __future__ import annotations

from typing import Any

from liveai.errors import ConfigError

MASK = "***"
SECRET_QUERY_KEYS = frozenset({"password", "sslpassword", "passfile"})


def masked_url(url: Any) -> str:
    """``url`` (a string or a SQLAlchemy URL) safe to print."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        scheme, found, _ = str(url).partition("://")
        return f"{scheme}://{MASK}" if found and scheme.isprintable() else MASK
    query = {
        key: MASK if key.lower() in SECRET_QUERY_KEYS else value
        for key, value in parsed.query.items()
    }
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    return str(shown).replace("%2A%2A%2A", MASK)


def scrub(text: str, url: Any) -> str:
    """``text`` (e.g. a driver's error message) without any secret value ``url`` holds."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return text
    secrets = [parsed.password or ""]
    for key, value in parsed.query.items():
        if key.lower() in SECRET_QUERY_KEYS:
            secrets.extend([value] if isinstance(value, str) else value)
    for secret in secrets:
        if secret:
            text = text.replace(str(secret), MASK)
    return text


def parse_database_url(url: str) -> Any:
    """The SQLAlchemy URL; a ConfigError that shows the URL masked when it is malformed."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url)
    except Exception:
        raise ConfigError(
            f"LIVEAI_DATABASE_URL is not a valid database URL: {masked_url(url)}",
            hint="use e.g. postgresql+psycopg://USER@HOST:5432/DB (with PGPASSWORD set)",
        ) from None
