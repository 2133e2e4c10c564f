"""Settling a task that has ended: the terminal state written while the runner's lease
stands, the hold posted (a success) or voided, the photo's retention clock started and
the audit event, in one transaction shared with other tasks' (`group`); then the
provider's copy released and whoever listens told.

The ledger keys come from the task id (`task_keys`), so a settle that is tried again
posts or voids the hold once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from liveai import audit, ledger
from liveai.clock import Clock
from liveai.db import Database
from liveai.errors import LiveAIError
from liveai.events import TaskFinished, TaskFinishedHandler
from liveai.generation import rows
from liveai.generation.group import Step, Write, run_grouped
from liveai.generation.pricing import price_for
from liveai.generation.tasks import poster_key, task_keys, video_key
from liveai.models import Task, TaskState
from liveai.providers.base import Provider, Releasable
from liveai.settings import Settings
from liveai.storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How a step ended: the terminal state, and why when it is not success.

    QUEUED (from polling only) means the provider lost the task: the next provider gets it.
    A success carries the URL the video was fetched from.
    """

    state: TaskState
    code: str | None = None
    message: str | None = None
    result_url: str | None = None


class _NotCharged(Exception):
    """The hold could not be posted (it expired): the task fails instead."""


@dataclass(frozen=True)
class Settler:
    """What settling needs from the lifecycle that ran the task."""

    database: Database
    storage: Storage
    settings: Settings
    clock: Clock
    runner_id: str
    on_finished: Sequence[TaskFinishedHandler]

    def settle(self, task: Task, outcome: Outcome, lost: LiveAIError) -> Task:
        """Finish the task with ``outcome`` (``lost`` is raised when our lease is gone); the
        task as it now stands."""
        try:
            return self._finish(task, outcome, lost)
        except _NotCharged as exc:
            # The hold expired (the credits went back): the work is not delivered unpaid.
            self.storage.delete_many([video_key(task), poster_key(task)])
            outcome = Outcome(TaskState.FAILED, "hold_expired", f"could not charge: {exc}")
            return self._finish(task, outcome, lost)
        except BaseException:
            # The final write was refused (the task was taken over, say by an erasure) or
            # never made: what was stored for it must not outlive it.
            if outcome.state is TaskState.SUCCEEDED:
                self.storage.delete_many([video_key(task), poster_key(task)])
            raise

    def _finish(self, task: Task, outcome: Outcome, lost: LiveAIError) -> Task:
        """In one transaction (shared with other tasks'): the terminal state, written only
        while our lease stands, the photo's retention clock, the hold posted (_NotCharged
        when it cannot be) or voided, and the audit event; the task as it now stands."""
        now = self.clock.now()
        succeeded = outcome.state is TaskState.SUCCEEDED
        charged = self._price(task) if succeeded else 0
        values = self._final_values(task, outcome, charged, now)
        details = {"task_id": str(task.id), "code": outcome.code, "charged": charged}
        retention = timedelta(days=self.settings.upload_retention_days)

        def hold(session: Session) -> None:
            if succeeded:
                self._charge(session, task, charged)
            else:
                self._refund(session, task)

        step: Step[None] = Step(
            order=str(task.user_id),
            writes=[
                Write(*rows.update_of(task.id, self.runner_id, values, read_back=False), lost),
                Write(*rows.date_upload(task.upload_id, now + retention)),
            ],
            shared=hold,
            events=[audit.Event(f"task.{outcome.state.value}", task.user_id, details, at=now)],
        )
        run_grouped(self.database, step)
        rows.mirror(task, values, task.cancel_requested)
        return task

    def _final_values(
        self, task: Task, outcome: Outcome, charged: int, now: datetime
    ) -> dict[str, Any]:
        """The task row's columns once it has ended with ``outcome``, its lease cleared."""
        succeeded = outcome.state is TaskState.SUCCEEDED
        return {
            "state": outcome.state,
            "finished_at": now,
            "updated_at": now,
            "error_code": outcome.code,
            "error": outcome.message,
            "charged": charged,
            "lease_owner": None,
            "lease_until": None,
            "result_key": video_key(task) if succeeded else None,
            "poster_key": poster_key(task) if succeeded else None,
            "result_url": outcome.result_url,
            "notify_pending": bool(self.on_finished),
        }

    def _price(self, task: Task) -> int:
        amount = price_for(self.settings, task.provider or "", task.duration_s)
        return task.price if amount is None else min(amount, task.price)

    def _charge(self, session: Session, task: Task, amount: int) -> None:
        post = task_keys(task.id).post
        try:
            ledger.post_hold(session, task.hold_key, key=post, amount=amount, clock=self.clock)
        except LiveAIError as exc:
            raise _NotCharged(exc.message) from None

    def _refund(self, session: Session, task: Task) -> None:
        try:
            ledger.void_hold(
                session,
                task.hold_key,
                key=task_keys(task.id).void,
                reason="generation did not complete",
                clock=self.clock,
            )
        except LiveAIError as exc:
            # Already expired or voided: the credits are back either way.
            log.info("task %s: hold not voided: %s", task.id, exc.message)

    def announce(self, task: Task) -> None:
        """Tell whoever listens that the task finished, then note that they were told."""
        event = TaskFinished(
            task_id=str(task.id),
            user_id=task.user_id,
            succeeded=task.state is TaskState.SUCCEEDED,
            state=task.state.value,
            error=task.error,
        )
        for handler in self.on_finished:
            try:
                handler(event)
            except Exception:
                log.exception("task %s: a task-finished handler failed", task.id)
        if self.on_finished:
            rows.told(self.database, task.id)

    def announce_missed(self, grace: timedelta) -> int:
        """Tell whoever listens about tasks that finished at least ``grace`` ago without
        them being told (the runner died between settling and telling); how many.

        A notice may go out twice if a runner died after telling but before noting it: a
        completion push carries the task id as its collapse id, so the device shows one.
        """
        if not self.on_finished:
            return 0
        with self.database.transaction() as session:
            missed = rows.owed(session, self.clock.now() - grace)
        for task in missed:
            self.announce(task)
        return len(missed)


def release_provider_copy(provider: Provider | None, task: Task) -> None:
    """Let the provider drop its copy of a settled task, where it keeps one on request."""
    if provider is not None and isinstance(provider, Releasable) and task.provider_task_id:
        try:
            provider.release(task.provider_task_id)
        except Exception:
            log.exception("task %s: releasing the provider's copy failed", task.id)
