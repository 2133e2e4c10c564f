"""Shell completion of ids from the configured database: bounded, and silent on any error."""

from __future__ import annotations

from typing import Any

LIMIT = 50


def _ids(column_of: Any, incomplete: str) -> list[str]:
    try:
        from sqlalchemy import String, cast, func, select

        from liveai.db import open_database
        from liveai.settings import load_settings

        db = open_database(load_settings(), check_schema=False)
        try:
            column = column_of()
            digits = incomplete.replace("-", "").lower()
            text = func.replace(cast(column, String), "-", "")
            query = select(column).where(text.like(digits + "%")).order_by(column).limit(LIMIT)
            with db.transaction() as session:
                return [str(found) for found in session.scalars(query)]
        finally:
            db.close()
    except Exception:
        return []


def _task_id() -> Any:
    from liveai.models import Task

    return Task.id


def _user_id() -> Any:
    from liveai.models import User

    return User.id


def _request_id() -> Any:
    from liveai.models import PrivacyRequest

    return PrivacyRequest.id


def task_ids(incomplete: str) -> list[str]:
    return _ids(_task_id, incomplete)


def user_ids(incomplete: str) -> list[str]:
    return _ids(_user_id, incomplete)


def request_ids(incomplete: str) -> list[str]:
    return _ids(_request_id, incomplete)
