"""What a log line is about: the task, provider and user a thread is working on.

A runner binds these while it drives a task, so every line logged underneath (by the
lifecycle, a provider client, the ledger) carries them without passing them around. Only
ids: never a name, an email, a photo or a secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

FIELDS = ("task_id", "provider", "user_id")
_bound: ContextVar[dict[str, str] | None] = ContextVar("liveai_log_context", default=None)


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Attach ``ids`` (task_id, provider, user_id) to every line logged inside."""
    token = _bound.set({**current(), **{k: str(v) for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _bound.reset(token)


def current() -> dict[str, str]:
    """The ids bound here, by field name."""
    return _bound.get() or {}
