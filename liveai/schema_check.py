"""Compare the ORM models with a migrated database (what `liveai db check` reports)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

import liveai.models


def model_differences(engine: Engine) -> list[str]:
    """Each difference between the models and the schema, one readable line each."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, liveai.models.Base.metadata)
    return [_describe(diff) for diff in diffs]


def _describe(diff: object) -> str:
    if isinstance(diff, tuple) and diff:
        kind = diff[0]
        if isinstance(kind, tuple):
            kind = kind[0]
        detail = " ".join(str(part) for part in diff[1:] if not isinstance(part, dict))
        return f"{kind} {detail}".strip()
    if isinstance(diff, list):
        return "; ".join(_describe(d) for d in diff)
    return str(diff)
