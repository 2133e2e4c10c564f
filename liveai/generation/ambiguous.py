"""Submits whose outcome is unknown: a timeout after the request left, or a runner that
died between sending it and storing the answer.

Where the provider keeps our id (`Findable`: Kling's ``external_task_id``) the generation
is looked up and collected. Elsewhere nothing can tell whether a paid generation started,
so the task is not failed over on such a timeout (that would start a second one at
another provider and send the photo there too); the possible duplicate is recorded in the
audit log against the task, and the task is retried at the same provider.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import Clock
from liveai.errors import ProviderError
from liveai.models import Task
from liveai.providers.base import Provider
from liveai.providers.lookup import Findable

log = logging.getLogger(__name__)


def can_look_up(provider: Provider) -> bool:
    return isinstance(provider, Findable)


def look_up(provider: Provider, task_id: uuid.UUID) -> str | None:
    """The provider's id for the generation started with our task id, if it can tell."""
    if not isinstance(provider, Findable):
        return None
    found = provider.find(str(task_id))
    if found is not None:
        log.warning(
            "task %s: %s had started it already (%s); collecting that",
            task_id,
            provider.name,
            found,
        )
    return found


def record_possible_duplicate(
    session: Session, task: Task, provider: str, exc: ProviderError, clock: Clock
) -> None:
    """Note against the task that ``provider`` may be running a generation we lost track of."""
    log.warning(
        "task %s: the submit to %s timed out and %s cannot be asked whether it started: "
        "not failing over; a retry may start a second generation there",
        task.id,
        provider,
        provider,
    )
    audit.record(
        session,
        "task.possible_duplicate",
        user_id=task.user_id,
        details={"task_id": str(task.id), "provider": provider, "error": exc.message},
        actor="system",
        clock=clock,
    )
