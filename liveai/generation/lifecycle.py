"""Running a task: submit (with failover) → poll at the provider's pace → store → settle.

A task the provider loses while it is polled goes back to submit, at the next provider.

Each step is its own short transaction, so a crash anywhere leaves a task that the next
run picks up where it stopped: the provider's task id is stored before anything waits on
it, a resubmission carries the same task id (providers dedupe on it), stored objects are
overwritten by the same keys, and ledger keys derived from the task id make posting or
voiding the hold happen once. A runner holds a lease on the task while it works and
renews it with every write, so two runners never work on the same task.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.errors import (
    Conflict,
    LiveAIError,
    ProviderAuthError,
    ProviderBalanceExhausted,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from liveai.events import TaskFinished, TaskFinishedHandler
from liveai.generation.pricing import price_for
from liveai.generation.tasks import poster_key, video_key
from liveai.models import DataTransfer, Task, TaskState, Upload
from liveai.providers.base import (
    Motion,
    Paced,
    Provider,
    ProviderState,
    ProviderStatus,
    Recipient,
    Releasable,
    Screened,
    VideoRequest,
)
from liveai.providers.registry import candidates
from liveai.providers.render import poster_jpeg
from liveai.settings import Settings
from liveai.storage import Storage

log = logging.getLogger(__name__)

Progress = Callable[[uuid.UUID, str], None]


class LeaseLost(LiveAIError):
    """Another runner took this task over (our lease had expired); stop touching it."""


@dataclass
class _Watch:
    """What a polling loop remembers between rounds."""

    state: TaskState
    polls: int = 0
    renew: bool = False


@dataclass(frozen=True)
class Outcome:
    """How a step ended: the terminal state, and why when it is not success.

    QUEUED (from polling only) means the provider lost the task: the next provider gets it.
    """

    state: TaskState
    code: str | None = None
    message: str | None = None


def default_runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:6]}"


def no_progress(task_id: uuid.UUID, stage: str) -> None:
    return None


@dataclass
class Lifecycle:
    """Everything a task run needs, injected. ``progress`` hears each stage by name
    (claimed, submitting, submitted, polling, failover, downloading, storing, then the final
    state)."""

    database: Database
    storage: Storage
    providers: Mapping[str, Provider]
    settings: Settings
    client: httpx.Client
    clock: Clock = SYSTEM_CLOCK
    sleep: Callable[[float], None] = time.sleep
    on_finished: Sequence[TaskFinishedHandler] = ()
    progress: Progress = no_progress
    runner_id: str = field(default_factory=default_runner_id)

    # --- the run ---------------------------------------------------------------

    def run(self, task_id: uuid.UUID) -> Task:
        """Take the task over and drive it to a terminal state; return its final record.

        Raises Conflict when another runner holds a live lease on it.
        """
        task = self._claim(task_id)
        if task.state.terminal:
            return task
        try:
            # Settling clears the lease in its own transaction; nothing more to write.
            return self._drive(task)
        except LeaseLost:
            log.warning("task %s was taken over by another runner", task_id)
        except (Exception, KeyboardInterrupt):
            # Hand the task back at once; after a hard kill the lease simply expires.
            self._release(task_id)
            raise
        return self._load(task_id)

    def _drive(self, task: Task) -> Task:
        self.progress(task.id, "claimed")
        while not task.state.terminal:
            if task.provider_task_id is None:
                task = self._submit(task)
            else:
                task = self._poll_until_done(task)
        return task

    # --- transactions and the lease -------------------------------------------

    @contextmanager
    def _locked(self, task_id: uuid.UUID) -> Iterator[tuple[Session, Task]]:
        """The task row, locked, in a fresh transaction; our lease renewed on the way."""
        with self.database.transaction() as session:
            task = session.scalar(select(Task).where(Task.id == task_id).with_for_update())
            if task is None:
                raise LeaseLost(f"task {task_id} vanished")
            now = self.clock.now()
            if task.lease_owner != self.runner_id:
                raise LeaseLost(f"task {task_id} is now run by {task.lease_owner}")
            task.lease_until = now + timedelta(seconds=self.settings.generation_lease_s)
            task.updated_at = now
            yield session, task

    def _claim(self, task_id: uuid.UUID) -> Task:
        with self.database.transaction() as session:
            task = session.scalar(select(Task).where(Task.id == task_id).with_for_update())
            if task is None or task.deleted_at is not None:
                from liveai.errors import NotFound

                raise NotFound(f"no task {task_id}", hint="see `liveai tasks list` for ids")
            if task.state.terminal:
                return task
            now = self.clock.now()
            held = task.lease_until is not None and task.lease_until > now
            if held and task.lease_owner != self.runner_id:
                raise Conflict(
                    f"task {task_id} is being run by {task.lease_owner} "
                    f"until {task.lease_until:%H:%M:%S} UTC",
                    hint="let it finish, or resume after the lease expires",
                )
            task.lease_owner = self.runner_id
            task.lease_until = now + timedelta(seconds=self.settings.generation_lease_s)
            return task

    def _release(self, task_id: uuid.UUID) -> None:
        with self.database.transaction() as session:
            task = session.get(Task, task_id, with_for_update=True)
            if task is not None and task.lease_owner == self.runner_id:
                task.lease_owner = None
                task.lease_until = None

    def _load(self, task_id: uuid.UUID) -> Task:
        with self.database.transaction() as session:
            task = session.get(Task, task_id)
            assert task is not None
            return task

    # --- submit with failover -------------------------------------------------

    def _submit(self, task: Task) -> Task:
        if self._hold_expired(task):
            message = "the credit hold expired before the task ran"
            return self._settle(task.id, Outcome(TaskState.FAILED, "hold_expired", message))
        if task.cancel_requested:
            return self._settle(task.id, Outcome(TaskState.CANCELLED, "cancelled", "cancelled"))
        request = self._request(task)
        names = self._order(task)
        last: ProviderError | None = None
        for name in names:
            provider = self.providers[name]
            try:
                self._screen(task.id, provider, request)
                self._mark_submitting(task.id, provider, request)
                self.progress(task.id, "submitting")
                provider_task_id = provider.submit(request)
            except ProviderRejected as exc:
                return self._settle(task.id, _failed(exc, "rejected"))
            except ProviderError as exc:
                if not _fails_over(exc):
                    return self._settle(task.id, _failed(exc, "submit_failed"))
                log.warning("task %s: %s; trying the next provider", task.id, exc)
                last = exc
                continue
            self.progress(task.id, "submitted")
            return self._mark_submitted(task.id, provider_task_id)
        message = str(last) if last else "no provider offers this request"
        code = (last.code if last else None) or "no_provider"
        return self._settle(task.id, Outcome(TaskState.FAILED, code, message))

    def _order(self, task: Task) -> list[str]:
        """The providers left to try: a resumed task starts again at the one it was on."""
        names = [
            name
            for name in candidates(self.providers, self.settings, task.requested_provider)
            if price_for(self.settings, name, task.duration_s) is not None
            and (price_for(self.settings, name, task.duration_s) or 0) <= task.price
        ]
        if task.provider in names:
            return names[names.index(task.provider) :]
        return names

    def _request(self, task: Task) -> VideoRequest:
        with self.database.transaction() as session:
            upload = session.get(Upload, task.upload_id)
            assert upload is not None
            key, width, height = upload.storage_key, upload.width, upload.height
        expiry = timedelta(seconds=self.settings.generation_image_url_expiry_s)
        return VideoRequest(
            task_id=str(task.id),
            image_jpeg=self.storage.get(key),
            image_url=self.storage.presigned_url(key, expiry),
            prompt=task.prompt,
            motion=Motion(task.motion),
            duration_s=task.duration_s,
            width=width,
            height=height,
        )

    def _screen(self, task_id: uuid.UUID, provider: Provider, req: VideoRequest) -> None:
        """Moderation first, its own recipients recorded before the photo goes to them; the
        provider's transfer is recorded only once the request has passed."""
        if not isinstance(provider, Screened):
            return
        recipients = list(provider.screening_recipients(req))
        if recipients:
            with self._locked(task_id) as (session, task):
                for recipient in recipients:
                    _record_transfer(session, task, recipient, self.clock)
        provider.screen(req)

    def _mark_submitting(self, task_id: uuid.UUID, provider: Provider, req: VideoRequest) -> None:
        """Record the attempt and, before the photo leaves, the transfer to the provider."""
        with self._locked(task_id) as (session, task):
            if task.provider != provider.name:
                task.provider = provider.name
            task.attempts += 1
            recipient = _provider_recipient(provider, req)
            if recipient is not None:
                _record_transfer(session, task, recipient, self.clock)

    def _mark_submitted(self, task_id: uuid.UUID, provider_task_id: str) -> Task:
        with self._locked(task_id) as (session, task):
            task.provider_task_id = provider_task_id
            task.state = TaskState.SUBMITTED
            task.submitted_at = self.clock.now()
            audit.record(
                session,
                "task.submitted",
                user_id=task.user_id,
                details={"task_id": str(task.id), "provider": task.provider},
                clock=self.clock,
            )
            return task

    def _hold_expired(self, task: Task) -> bool:
        limit = task.created_at + timedelta(seconds=self.settings.generation_hold_timeout_s)
        return self.clock.now() >= limit

    # --- polling --------------------------------------------------------------

    def _poll_until_done(self, task: Task) -> Task:
        provider = self.providers.get(task.provider or "")
        if provider is None:
            message = f"provider {task.provider!r} is no longer configured"
            return self._settle(task.id, Outcome(TaskState.FAILED, "provider_gone", message))
        assert task.provider_task_id is not None and task.submitted_at is not None
        deadline = task.submitted_at + timedelta(seconds=self.settings.generation_poll_timeout_s)
        watch = _Watch(state=task.state)
        pace = self._pace(provider)
        polls = 0
        while True:
            outcome = self._poll_once(task, provider, deadline, watch)
            if outcome is not None and outcome.state is TaskState.QUEUED:
                return self._fail_over(task, outcome)
            if outcome is not None:
                return self._settle(task.id, outcome, provider=provider)
            polls += 1
            self.sleep(pace(polls))

    def _pace(self, provider: Provider) -> Callable[[int], float]:
        """Seconds to wait after n polls: the provider's own pace, else the settings' backoff."""
        if isinstance(provider, Paced):
            return provider.poll_delay
        first = self.settings.generation_poll_interval_s
        factor = self.settings.generation_poll_backoff
        cap = self.settings.generation_poll_max_interval_s

        def backoff(polls: int) -> float:
            return float(min(first * factor ** max(polls - 1, 0), cap))

        return backoff

    def _fail_over(self, task: Task, lost: Outcome) -> Task:
        """The provider lost the task: queue it for the next provider, or fail it."""
        rest = [name for name in self._order(task) if name != task.provider]
        if not rest:
            return self._settle(task.id, Outcome(TaskState.FAILED, lost.code, lost.message))
        log.warning("task %s: %s; trying %s", task.id, lost.message, rest[0])
        with self._locked(task.id) as (_, current):
            current.provider, current.provider_task_id = rest[0], None
            current.state, current.submitted_at = TaskState.QUEUED, None
        self.progress(task.id, "failover")
        return current

    def _poll_once(
        self, task: Task, provider: Provider, deadline: datetime, watch: _Watch
    ) -> Outcome | None:
        """One round: check for cancel and timeout, poll, store a finished video."""
        assert task.provider_task_id is not None
        cancel = self._check(task.id, watch)
        if cancel or self.clock.now() >= deadline:
            _best_effort_cancel(provider, task.provider_task_id)
            if cancel:
                return Outcome(TaskState.CANCELLED, "cancelled", "cancelled on request")
            return Outcome(TaskState.FAILED, "timed_out", "the provider did not finish in time")
        watch.polls += 1
        try:
            status = provider.poll(task.provider_task_id)
            self.progress(task.id, "polling")
            if status.state is ProviderState.SUCCEEDED:
                return self._store(task, status)
        except ProviderError as exc:
            if _lost(exc):
                return Outcome(TaskState.QUEUED, exc.code, str(exc))
            if exc.retryable:
                log.info("task %s: %s; polling again", task.id, exc)
                return None
            return _failed(exc, "poll_failed")
        return self._note_status(task.id, status, watch)

    def _check(self, task_id: uuid.UUID, watch: _Watch) -> bool:
        """Read (no lock) whether a cancel was asked for and whether our lease still stands."""
        with self.database.sessions() as session:
            row = session.execute(
                select(Task.cancel_requested, Task.lease_owner, Task.lease_until).where(
                    Task.id == task_id
                )
            ).one()
        if row.lease_owner != self.runner_id:
            raise LeaseLost(f"task {task_id} is now run by {row.lease_owner}")
        half = timedelta(seconds=self.settings.generation_lease_s / 2)
        watch.renew = row.lease_until is None or row.lease_until - self.clock.now() < half
        return bool(row.cancel_requested)

    def _note_status(
        self, task_id: uuid.UUID, status: ProviderStatus, watch: _Watch
    ) -> Outcome | None:
        running = status.state is ProviderState.RUNNING and watch.state is TaskState.SUBMITTED
        if running or watch.renew:
            # Written only on a change or to renew the lease: polls stay cheap at scale.
            with self._locked(task_id) as (_, task):
                task.polls += watch.polls
                watch.polls = 0
                if running:
                    task.state = watch.state = TaskState.RUNNING
        if status.state is ProviderState.FAILED:
            code = status.error_code or "provider_failed"
            return Outcome(TaskState.FAILED, code, status.error_message or "generation failed")
        if status.state is ProviderState.CANCELLED:
            return Outcome(TaskState.CANCELLED, "cancelled_upstream", "the provider cancelled it")
        return None

    def _store(self, task: Task, status: ProviderStatus) -> Outcome | None:
        self.progress(task.id, "downloading")
        video = status.video_bytes or self._download(task, status.video_url)
        try:
            poster = poster_jpeg(video)
        except ValueError as exc:
            return Outcome(TaskState.FAILED, "malformed_result", f"the result is {exc}")
        self.storage.put(video_key(task), video, content_type="video/mp4")
        self.storage.put(poster_key(task), poster, content_type="image/jpeg")
        self.progress(task.id, "storing")
        with self._locked(task.id) as (_, current):
            current.result_url = status.video_url
        return Outcome(TaskState.SUCCEEDED)

    def _download(self, task: Task, url: str | None) -> bytes:
        name = task.provider or "provider"
        if not url:
            raise ProviderUnavailable("succeeded without a video", provider=name, code="no_video")
        try:
            response = self.client.get(url, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"download failed: {exc}", provider=name) from None
        if response.status_code != 200:
            raise ProviderUnavailable(
                f"download answered HTTP {response.status_code}", provider=name, code="download"
            )
        return response.content

    # --- settling ---------------------------------------------------------------

    def _settle(
        self, task_id: uuid.UUID, outcome: Outcome, *, provider: Provider | None = None
    ) -> Task:
        """Finish the task in one transaction: post or void the hold, date the upload."""
        with self._locked(task_id) as (session, task):
            if outcome.state is TaskState.SUCCEEDED:
                outcome = self._charge(session, task) or outcome
            if outcome.state is not TaskState.SUCCEEDED:
                self._refund(session, task)
            now = self.clock.now()
            task.state, task.finished_at = outcome.state, now
            task.error_code, task.error = outcome.code, outcome.message
            if outcome.state is TaskState.SUCCEEDED:
                task.result_key, task.poster_key = video_key(task), poster_key(task)
            task.lease_owner, task.lease_until = None, None
            upload = session.get(Upload, task.upload_id)
            if upload is not None and upload.delete_after is None:
                upload.delete_after = now + timedelta(days=self.settings.upload_retention_days)
            audit.record(
                session,
                f"task.{outcome.state.value}",
                user_id=task.user_id,
                details={"task_id": str(task.id), "code": outcome.code, "charged": task.charged},
                clock=self.clock,
            )
            finished = task
        self._after_commit(finished, outcome, provider)
        return finished

    def _charge(self, session: Session, task: Task) -> Outcome | None:
        from liveai import ledger

        amount = price_for(self.settings, task.provider or "", task.duration_s)
        amount = task.price if amount is None else min(amount, task.price)
        try:
            ledger.post_hold(
                session, task.hold_key, key=f"task:{task.id}:post", amount=amount, clock=self.clock
            )
        except LiveAIError as exc:
            # The hold expired (the credits went back): the work is not delivered unpaid.
            self.storage.delete_many([video_key(task), poster_key(task)])
            return Outcome(TaskState.FAILED, "hold_expired", f"could not charge: {exc.message}")
        task.charged = amount
        return None

    def _refund(self, session: Session, task: Task) -> None:
        from liveai import ledger

        try:
            ledger.void_hold(
                session,
                task.hold_key,
                key=f"task:{task.id}:void",
                reason="generation did not complete",
                clock=self.clock,
            )
        except LiveAIError as exc:
            # Already expired or voided: the credits are back either way.
            log.info("task %s: hold not voided: %s", task.id, exc.message)
        task.charged = 0

    def _after_commit(self, task: Task, outcome: Outcome, provider: Provider | None) -> None:
        if provider is not None and isinstance(provider, Releasable) and task.provider_task_id:
            try:
                provider.release(task.provider_task_id)
            except Exception:
                log.exception("task %s: releasing the provider's copy failed", task.id)
        self.progress(task.id, outcome.state.value)
        event = TaskFinished(
            task_id=str(task.id),
            user_id=task.user_id,
            succeeded=outcome.state is TaskState.SUCCEEDED,
            state=outcome.state.value,
            error=outcome.message,
        )
        for handler in self.on_finished:
            try:
                handler(event)
            except Exception:
                log.exception("task %s: a task-finished handler failed", task.id)


def _provider_recipient(provider: Provider, request: VideoRequest) -> Recipient | None:
    """What the provider itself receives; None for the local renderer."""
    if not getattr(provider, "third_party", True):
        return None
    items = ("image", "prompt") if request.prompt else ("image",)
    return Recipient(provider.name, provider.region, items, provider.image_transport(request))


def _record_transfer(session: Session, task: Task, recipient: Recipient, clock: Clock) -> None:
    """One record per task and recipient; a second transfer to it widens that record."""
    record = session.scalar(
        select(DataTransfer).where(
            DataTransfer.task_id == task.id, DataTransfer.provider == recipient.name
        )
    )
    if record is None:
        session.add(
            DataTransfer(
                task_id=task.id,
                user_id=task.user_id,
                provider=recipient.name,
                region=recipient.region,
                items=list(recipient.items),
                transport=recipient.transport,
                at=clock.now(),
            )
        )
        return
    record.items = [*record.items, *(i for i in recipient.items if i not in record.items)]
    transports = record.transport.split(",")
    if recipient.transport not in transports:
        record.transport = ",".join(sorted([*transports, recipient.transport]))


def _lost(exc: ProviderError) -> bool:
    """The provider no longer knows the task (expired, or never kept): polling cannot help."""
    return isinstance(exc, ProviderUnavailable) and exc.code == "lost"


def _fails_over(exc: ProviderError) -> bool:
    return exc.retryable or isinstance(exc, ProviderAuthError | ProviderBalanceExhausted)


def _failed(exc: ProviderError, default_code: str) -> Outcome:
    return Outcome(TaskState.FAILED, exc.code or default_code, str(exc))


def _best_effort_cancel(provider: Provider, provider_task_id: str) -> None:
    try:
        provider.cancel(provider_task_id)
    except ProviderError as exc:
        log.info("cancel at %s failed: %s", provider.name, exc)
