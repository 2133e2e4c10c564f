"""Events the generation lifecycle announces to whoever listens (push notifications)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskFinished:
    """A generation reached a terminal state; sent after its transaction committed."""

    task_id: str
    user_id: uuid.UUID
    succeeded: bool
    state: str
    error: str | None = None


TaskFinishedHandler = Callable[[TaskFinished], None]
