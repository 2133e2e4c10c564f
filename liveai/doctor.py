"""Health checks for `liveai doctor`: configuration, database, storage, and later features."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from liveai.errors import LiveAIError
from liveai.settings import Settings, load_settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


CheckFn = Callable[[Settings], Check]


def check_database(settings: Settings) -> Check:
    from liveai.db import ensure_schema, make_engine

    engine = make_engine(settings.resolved_database_url)
    try:
        ensure_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
    except LiveAIError as exc:
        return Check("database", False, str(exc))
    finally:
        engine.dispose()
    url = engine.url.render_as_string(hide_password=True)
    return Check("database", True, f"{url} reachable, schema up to date")


def check_storage(settings: Settings) -> Check:
    folder = settings.resolved_storage_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("storage", False, f"{folder} is not writable: {exc.strerror}")
    return Check("storage", True, f"{folder} writable")


CHECKS: list[CheckFn] = [check_database, check_storage]


def run_checks() -> list[Check]:
    """Run every check; a configuration error is itself reported as a failed check."""
    try:
        settings = load_settings()
    except LiveAIError as exc:
        return [Check("config", False, str(exc))]
    results = [Check("config", True, "settings loaded")]
    results.extend(check(settings) for check in CHECKS)
    return results
