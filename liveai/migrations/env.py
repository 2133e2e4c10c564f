"""Alembic environment: the engine comes from liveai.db, never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import liveai.models
from liveai.db import make_engine
from liveai.settings import load_settings


def _engine() -> Engine:
    engine = context.config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    return make_engine(load_settings().resolved_database_url)


def run_migrations_online() -> None:
    engine = _engine()
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=liveai.models.Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
