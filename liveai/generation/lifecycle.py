"""Running a task: submit (with failover) → poll at the provider's pace → store → settle.

This is the state machine; `transfers` records what leaves before it leaves, and `settle`
ends a task (its state, its hold, its audit event, the notice).

A task the provider loses while it is polled goes back to submit, at the next provider.

Each step is its own short transaction, so a crash anywhere leaves a task that the next
run picks up where it stopped: the provider's task id is stored before anything waits on
it, a resubmission carries the same task id (providers dedupe on it), stored objects are
overwritten by the same keys, and ledger keys derived from the task id make posting or
voiding the hold happen once. A runner holds a lease on the task while it works and
renews it with every write, so two runners never work on the same task.

Hundreds of tasks run at once in a worker, so a step costs as few statements as it can: a
write is one UPDATE guarded by the lease (no locking read first) that reads the cancel flag
back, mirrored on the runner's copy of the task; the writes that nothing waits for
(submitted, running, settled) share transactions with other tasks' (`group`); polling
keeps the provider's cadence and reads the task row only every couple of seconds.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import httpx
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.errors import (
    Conflict,
    LiveAIError,
    NotFound,
    ProviderAuthError,
    ProviderBalanceExhausted,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from liveai.events import TaskFinishedHandler
from liveai.generation import ambiguous, rows, transfers
from liveai.generation.group import Step, run_grouped
from liveai.generation.pricing import price_for
from liveai.generation.runners import runner_id
from liveai.generation.settle import Settler, TaskOutcome, release_provider_copy
from liveai.generation.tasks import poster_key, video_key
from liveai.models import Task, TaskState
from liveai.privacy import consents
from liveai.providers.base import (
    Motion,
    Paced,
    Provider,
    ProviderState,
    ProviderStatus,
    Screened,
    VideoRequest,
)
from liveai.providers.download import Downloadable, ResultDownloader
from liveai.providers.registry import candidates
from liveai.providers.render import poster_jpeg
from liveai.settings import Settings
from liveai.storage import Storage

log = logging.getLogger(__name__)

Progress = Callable[[uuid.UUID, str], None]


class LeaseLost(LiveAIError):
    """Another runner took this task over (our lease had expired); stop touching it."""


# However fast a provider is polled, the task row is read (is a cancel asked for, is the
# lease still ours?) only once this long has been waited since it was last read; our own
# writes read the cancel flag back too.
_CHECK_AFTER_S = 2.0


@dataclass
class _Watch:
    """What a polling loop remembers between rounds: when the last wait ended, the waits so
    far, polls not yet counted in the row, and the seconds waited since the row's cancel
    flag was last read (or read back by a write)."""

    since: datetime
    waits: int = 0
    polls: int = 0
    waited: float = 0.0
    failed_downloads: int = 0


@dataclass(frozen=True)
class Photo:
    """Where a task's photo is stored, and its size."""

    key: str
    width: int
    height: int


@dataclass(frozen=True)
class Claim:
    """A task this runner has just leased, with its photo when it still needs a submit."""

    task: Task
    photo: Photo | None = None


def default_runner_id() -> str:
    """host:pid:process start:thread:nonce (see `runners`: a gone runner is provable)."""
    return runner_id()


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
        claim = self._claim(task_id)
        if claim.task.state.terminal:
            return claim.task
        return self.run_claimed(claim)

    def claim_next(self, skip: Collection[uuid.UUID] = ()) -> Claim | None:
        """Lease the oldest unfinished task nobody holds (none in ``skip``); None when there
        is none. Run it with `run_claimed`."""
        now = self.clock.now()
        until = now + timedelta(seconds=self.settings.generation_lease_s)
        with self.database.statements() as connection:  # one UPDATE: no BEGIN and COMMIT
            claimed = rows.claim_next(connection, self.runner_id, now, until, skip)
        return None if claimed is None else _claimed(*claimed)

    def run_claimed(self, claim: Claim) -> Task:
        """Drive a task this runner has leased to a terminal state; its final record."""
        task_id = claim.task.id
        try:
            # Settling clears the lease in its own transaction; nothing more to write.
            return self._drive(claim.task, claim.photo)
        except LeaseLost:
            log.warning("task %s was taken over by another runner", task_id)
        except (Exception, KeyboardInterrupt):
            # Hand the task back at once; after a hard kill the lease simply expires.
            self.release(task_id)
            raise
        return self._load(task_id)

    def _drive(self, task: Task, photo: Photo | None) -> Task:
        self.progress(task.id, "claimed")
        submitted = False
        while not task.state.terminal:
            if task.provider_task_id is None:
                task, submitted = self._submit(task, photo), True
            else:
                task = self._poll_until_done(task, just_submitted=submitted)
        return task

    # --- transactions and the lease -------------------------------------------

    @contextmanager
    def _step(self, task: Task, **values: Any) -> Iterator[Session]:
        """A transaction that first writes ``values`` to the task row, only while our lease
        stands, and renews the lease; the values are mirrored on ``task`` once committed."""
        values = self._renewing(values)
        with self.database.transaction() as session:
            cancel = self._guarded(session, task, values)
            yield session
        rows.mirror(task, values, cancel)

    def _renewing(self, values: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        lease = timedelta(seconds=self.settings.generation_lease_s)
        return {**values, "lease_until": now + lease, "updated_at": now}

    def _guarded(self, session: Session, task: Task, values: dict[str, Any]) -> bool:
        """Write ``values`` to the task row only while our lease stands; whether a cancel
        has been asked for."""
        cancel = rows.write(session, task.id, self.runner_id, values)
        if cancel is None:
            raise self._lost(task)
        return cancel

    def _lost(self, task: Task) -> LeaseLost:
        return LeaseLost(f"task {task.id} is no longer leased to {self.runner_id}")

    def _write(self, task: Task, *, events: Sequence[audit.Event] = (), **values: Any) -> None:
        """`_step` with nothing else to write but audit ``events``: it may share its commit
        with other tasks'."""
        values = self._renewing(values)
        step = Step(
            order=str(task.user_id),
            own=lambda session: self._guarded(session, task, values),
            events=events,
        )
        rows.mirror(task, values, run_grouped(self.database, step))

    def _claim(self, task_id: uuid.UUID) -> Claim:
        """Lease the task in one UPDATE; a refused claim is explained: no such task, already
        finished (returned as it is), or someone else's."""
        now = self.clock.now()
        until = now + timedelta(seconds=self.settings.generation_lease_s)
        with self.database.transaction() as session:
            claimed = rows.claim(session, task_id, self.runner_id, now, until)
            if claimed is None:
                return Claim(self._refused(session, task_id))
        return _claimed(*claimed)

    def _refused(self, session: Session, task_id: uuid.UUID) -> Task:
        task = session.get(Task, task_id)
        if task is None or task.deleted_at is not None:
            raise NotFound(f"no task {task_id}", hint="see `liveai tasks list` for ids")
        if task.state.terminal:
            return task
        until = f" until {task.lease_until:%H:%M:%S} UTC" if task.lease_until else ""
        raise Conflict(
            f"task {task_id} is being run by {task.lease_owner}{until}",
            hint="let it finish, or resume after the lease expires",
        )

    def give_up(self, task_id: uuid.UUID, message: str) -> Task:
        """Fail a task that kept raising (its hold voided, its provider's copy cancelled);
        its final record. Raises Conflict when another runner holds it."""
        claim = self._claim(task_id)
        task = claim.task
        if task.state.terminal:
            return task
        provider = self.providers.get(task.provider or "")
        if provider is not None and task.provider_task_id:
            _best_effort_cancel(provider, task.provider_task_id)
        return self._settle(task, TaskOutcome(TaskState.FAILED, "gave_up", message))

    def release(self, task_id: uuid.UUID) -> None:
        """Hand back a task this runner holds, for any runner to take now."""
        with self.database.transaction() as session:
            task = session.get(Task, task_id, with_for_update=True)
            if task is not None and task.lease_owner == self.runner_id:
                task.lease_owner = None
                task.lease_until = None

    def _load(self, task_id: uuid.UUID) -> Task:
        with self.database.transaction() as session:
            task = session.get(Task, task_id)
            if task is None:  # its account was erased while we ran it
                raise NotFound(f"task {task_id} no longer exists", hint="its user was erased")
            return task

    # --- submit with failover -------------------------------------------------

    def _submit(self, task: Task, photo: Photo | None) -> Task:
        if self._hold_expired(task):
            message = "the credit hold expired before the task ran"
            return self._settle(task, TaskOutcome(TaskState.FAILED, "hold_expired", message))
        if task.cancel_requested:
            return self._settle(task, TaskOutcome(TaskState.CANCELLED, "cancelled", "cancelled"))
        request = self._request(task, photo)
        names = self._order(task)
        last: ProviderError | None = None
        refused: list[consents.NotConsented] = []
        for name in names:
            provider = self.providers[name]
            try:
                started = self._started_before(task, provider)
                if started is not None:  # a submit we never heard back from got through
                    return self._mark_submitted(task, started)
                self._screen(task, provider, request)
                self._mark_submitting(task, provider, request)
                self.progress(task.id, "submitting")
                provider_task_id = provider.submit(request)
            except consents.NotConsented as exc:
                refused.append(exc)
                self._skip(task, exc)
                continue
            except ProviderRejected as exc:
                return self._settle(task, _failed(exc, "rejected"))
            except ProviderError as exc:
                if exc.code == "timeout":  # it may have reached the provider
                    started = self._after_ambiguous(task, provider, exc)
                    if started is not None:
                        self.progress(task.id, "submitted")
                        return self._mark_submitted(task, started)
                if not _fails_over(exc):
                    return self._settle(task, _failed(exc, "submit_failed"))
                log.warning("task %s: %s; trying the next provider", task.id, exc)
                self.progress(task.id, "failover")
                last = exc
                continue
            self.progress(task.id, "submitted")
            return self._mark_submitted(task, provider_task_id)
        if refused and last is None:
            return self._settle(task, _not_consented(refused))
        message = str(last) if last else "no provider offers this request"
        code = (last.code if last else None) or "no_provider"
        return self._settle(task, TaskOutcome(TaskState.FAILED, code, message))

    def _started_before(self, task: Task, provider: Provider) -> str | None:
        """After a runner died mid-submit (the task was sent to ``provider`` and no id came
        back): the provider's id for what that submit started, when the provider can say."""
        if task.provider != provider.name or task.attempts == 0:
            return None
        return ambiguous.look_up(provider, task.id)

    def _after_ambiguous(self, task: Task, provider: Provider, exc: ProviderError) -> str | None:
        """A submit timed out: the generation found at the provider, or None when the
        provider says there is none (then failing over is safe). A provider that cannot be
        asked gets no failover: the possible duplicate is recorded and the error raised."""
        if ambiguous.can_look_up(provider):
            return ambiguous.look_up(provider, task.id)
        with self._step(task) as session:
            ambiguous.record_possible_duplicate(session, task, provider.name, exc, self.clock)
        raise exc

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

    def _request(self, task: Task, photo: Photo | None) -> VideoRequest:
        if photo is None:  # the task came back from a provider that lost it
            with self.database.transaction() as session:
                photo = Photo(*rows.photo(session, task.upload_id))
        expiry = timedelta(seconds=self.settings.generation_image_url_expiry_s)
        return VideoRequest(
            task_id=str(task.id),
            image_jpeg=self.storage.get(photo.key),
            image_url=self.storage.presigned_url(photo.key, expiry),
            prompt=task.prompt,
            motion=Motion(task.motion),
            duration_s=task.duration_s,
            width=photo.width,
            height=photo.height,
        )

    def _screen(self, task: Task, provider: Provider, req: VideoRequest) -> None:
        """Moderation first, its own recipients recorded before the photo goes to them; the
        provider's transfer is recorded only once the request has passed."""
        if not isinstance(provider, Screened):
            return
        recipients = list(provider.screening_recipients(req))
        if recipients:
            with self._step(task) as session:
                transfers.record_screening(session, task, provider, recipients, self.clock)
        provider.screen(req)

    def _mark_submitting(self, task: Task, provider: Provider, req: VideoRequest) -> None:
        """Record the attempt and, before the photo leaves, the transfer to the provider."""
        with self._step(task, provider=provider.name, attempts=task.attempts + 1) as session:
            transfers.record_submit(session, task, provider, req, self.clock)

    def _mark_submitted(self, task: Task, provider_task_id: str) -> Task:
        now = self.clock.now()
        details = {"task_id": str(task.id), "provider": task.provider}
        self._write(
            task,
            events=[audit.Event("task.submitted", task.user_id, details, at=now)],
            provider_task_id=provider_task_id,
            state=TaskState.SUBMITTED,
            submitted_at=now,
        )
        return task

    def _skip(self, task: Task, refused: consents.NotConsented) -> None:
        """Note in the task why a provider was passed over (nothing was sent to it)."""
        log.info("task %s: %s", task.id, refused.message)
        details = {"task_id": str(task.id), "provider": refused.recipient}
        self._write(
            task,
            events=[audit.Event("task.provider_skipped", task.user_id, details)],
            skipped=[*(task.skipped or []), refused.message],
        )

    def _hold_expired(self, task: Task) -> bool:
        limit = task.created_at + timedelta(seconds=self.settings.generation_hold_timeout_s)
        return self.clock.now() >= limit

    # --- polling --------------------------------------------------------------

    def _poll_until_done(self, task: Task, *, just_submitted: bool) -> Task:
        """Poll at the provider's pace until the task ends. A remote provider answers a submit
        before the video exists, so a task it has just taken is first polled one wait later
        (a resumed one at once)."""
        provider = self.providers.get(task.provider or "")
        if provider is None:
            message = f"provider {task.provider!r} is no longer configured"
            return self._settle(task, TaskOutcome(TaskState.FAILED, "provider_gone", message))
        assert task.provider_task_id is not None and task.submitted_at is not None
        deadline = task.submitted_at + timedelta(seconds=self.settings.generation_poll_timeout_s)
        watch = _Watch(since=task.submitted_at if just_submitted else self.clock.now())
        pace = self._pace(provider)
        if just_submitted and transfers.remote(provider):
            self._wait(watch, pace)
        while True:
            outcome = self._poll_once(task, provider, deadline, watch)
            if outcome is not None and outcome.state is TaskState.QUEUED:
                return self._fail_over(task, outcome)
            if outcome is not None:
                return self._settle(task, outcome, provider=provider)
            self._wait(watch, pace)

    def _wait(self, watch: _Watch, pace: Callable[[int], float]) -> None:
        """The next wait at the provider's pace, less the time spent since the last one
        ended (polling, writing): the provider is polled at its cadence, without drift."""
        watch.waits += 1
        seconds = pace(watch.waits)
        watch.waited += seconds
        spent = (self.clock.now() - watch.since).total_seconds()
        self.sleep(max(0.0, seconds - spent))
        watch.since = self.clock.now()

    def _pace(self, provider: Provider) -> Callable[[int], float]:
        """Seconds of the n-th wait: the provider's own pace, else the settings' backoff."""
        if isinstance(provider, Paced):
            return provider.poll_delay
        first = self.settings.generation_poll_interval_s
        factor = self.settings.generation_poll_backoff
        cap = self.settings.generation_poll_max_interval_s

        def backoff(polls: int) -> float:
            return float(min(first * factor ** max(polls - 1, 0), cap))

        return backoff

    def _fail_over(self, task: Task, lost: TaskOutcome) -> Task:
        """The provider lost the task: queue it for the next provider, or fail it."""
        rest = [name for name in self._order(task) if name != task.provider]
        if not rest:
            return self._settle(task, TaskOutcome(TaskState.FAILED, lost.code, lost.message))
        log.warning("task %s: %s; trying %s", task.id, lost.message, rest[0])
        self._write(
            task,
            provider=rest[0],
            provider_task_id=None,
            state=TaskState.QUEUED,
            submitted_at=None,
        )
        self.progress(task.id, "failover")
        return task

    def _poll_once(
        self, task: Task, provider: Provider, deadline: datetime, watch: _Watch
    ) -> TaskOutcome | None:
        """One round: check for cancel and timeout, poll, store a finished video."""
        assert task.provider_task_id is not None
        if watch.waited >= _CHECK_AFTER_S:
            set_committed_value(task, "cancel_requested", self._check(task))
            watch.waited = 0.0
        cancel = task.cancel_requested
        if cancel or self.clock.now() >= deadline:
            _best_effort_cancel(provider, task.provider_task_id)
            if cancel:
                return TaskOutcome(TaskState.CANCELLED, "cancelled", "cancelled on request")
            return TaskOutcome(TaskState.FAILED, "timed_out", "the provider did not finish in time")
        watch.polls += 1
        try:
            status = provider.poll(task.provider_task_id)
            self.progress(task.id, "polling")
            if status.state is ProviderState.SUCCEEDED:
                return self._store(task, status, provider)
        except ProviderError as exc:
            if _lost(exc):
                return TaskOutcome(TaskState.QUEUED, exc.code, str(exc))
            if exc.code == "download":
                return self._download_failed(task, exc, watch)
            if exc.retryable:
                log.info("task %s: %s; polling again", task.id, exc)
                return None
            return _failed(exc, "poll_failed")
        return self._note_status(task, status, watch)

    def _download_failed(self, task: Task, exc: ProviderError, watch: _Watch) -> TaskOutcome | None:
        """A finished video that would not download: polled and fetched again, a bounded
        number of times (``download_retries``), then the task fails with the error."""
        watch.failed_downloads += 1
        retries = self.settings.download_retries
        if watch.failed_downloads > retries:
            message = f"the result could not be downloaded ({retries} retries): {exc.message}"
            return TaskOutcome(TaskState.FAILED, "download_failed", message)
        log.warning(
            "task %s: %s; download retry %d of %d", task.id, exc, watch.failed_downloads, retries
        )
        return None

    def _check(self, task: Task) -> bool:
        """Read (no lock) whether a cancel was asked for and whether our lease still stands."""
        cancel, owner = rows.status(self.database, task.id)
        if owner != self.runner_id:
            raise LeaseLost(f"task {task.id} is now run by {owner}")
        return cancel

    def _note_status(self, task: Task, status: ProviderStatus, watch: _Watch) -> TaskOutcome | None:
        running = status.state is ProviderState.RUNNING and task.state is TaskState.SUBMITTED
        half = timedelta(seconds=self.settings.generation_lease_s / 2)
        renew = task.lease_until is None or task.lease_until - self.clock.now() < half
        if running or renew:
            # Written only on a change or to renew the lease: polls stay cheap at scale.
            values: dict[str, Any] = {"polls": task.polls + watch.polls}
            if running:
                values["state"] = TaskState.RUNNING
            self._write(task, **values)
            watch.polls, watch.waited = 0, 0.0
        if status.state is ProviderState.FAILED:
            code = status.error_code or "provider_failed"
            return TaskOutcome(TaskState.FAILED, code, status.error_message or "generation failed")
        if status.state is ProviderState.CANCELLED:
            return TaskOutcome(
                TaskState.CANCELLED, "cancelled_upstream", "the provider cancelled it"
            )
        return None

    def _store(self, task: Task, status: ProviderStatus, provider: Provider) -> TaskOutcome | None:
        self.progress(task.id, "downloading")
        with self._result(status, provider) as video:
            try:
                poster = poster_jpeg(video)
            except ValueError as exc:
                return TaskOutcome(TaskState.FAILED, "malformed_result", f"the result is {exc}")
            refused = self._may_store(task)
            if refused is not None:
                return refused
            video.seek(0)
            self.storage.put(video_key(task), video, content_type="video/mp4")
        self.storage.put(poster_key(task), poster, content_type="image/jpeg")
        self.progress(task.id, "storing")
        return TaskOutcome(TaskState.SUCCEEDED, result_url=status.video_url)

    def _may_store(self, task: Task) -> TaskOutcome | None:
        """Re-read, after the download, that the lease is ours and the account still active
        (an erasure may have started meanwhile); why not to store, or None."""
        cancel, owner, active = rows.may_store(self.database, task.id)
        if owner != self.runner_id:
            raise LeaseLost(f"task {task.id} is now run by {owner}")
        if not active:
            return TaskOutcome(TaskState.CANCELLED, "account_closed", "the account was closed")
        if cancel:
            return TaskOutcome(TaskState.CANCELLED, "cancelled", "cancelled on request")
        return None

    @contextmanager
    def _result(self, status: ProviderStatus, provider: Provider) -> Iterator[BinaryIO]:
        """The result video as a file: the provider's bytes, or its URL downloaded."""
        if status.video_bytes:
            yield io.BytesIO(status.video_bytes)
            return
        if not status.video_url:
            raise ProviderUnavailable(
                "succeeded without a video", provider=provider.name, code="no_video"
            )
        if not isinstance(provider, Downloadable):
            raise ProviderError(
                "returned a result URL but declares no hosts results come from",
                provider=provider.name,
                code="download_refused",
            )
        downloader = ResultDownloader(self.client, max_bytes=self.settings.download_max_bytes)
        with downloader.fetch(status.video_url, provider.result_origin()) as video:
            yield video

    # --- settling ---------------------------------------------------------------

    def _settle(
        self, task: Task, outcome: TaskOutcome, *, provider: Provider | None = None
    ) -> Task:
        """Finish the task with ``outcome``, then tell whoever listens."""
        settler = self._settler()
        finished = settler.settle(task, outcome, self._lost(task))
        release_provider_copy(provider, finished)
        self.progress(task.id, finished.state.value)
        settler.announce(finished)
        return finished

    def announce_missed(self, grace: timedelta = timedelta(minutes=5)) -> int:
        """Tell whoever listens about tasks that finished at least ``grace`` ago without
        them being told (the runner died between settling and telling); how many."""
        return self._settler().announce_missed(grace)

    def _settler(self) -> Settler:
        return Settler(
            self.database,
            self.storage,
            self.settings,
            self.clock,
            self.runner_id,
            self.on_finished,
        )


def _claimed(task: Task, photo: tuple[str, int, int]) -> Claim:
    return Claim(task, Photo(*photo) if task.provider_task_id is None else None)


def _not_consented(refused: Sequence[consents.NotConsented]) -> TaskOutcome:
    """Every provider was passed over for want of consent: the task fails naming them."""
    needs = "; ".join(f"{r.recipient} needs {', '.join(n.name for n in r.needs)}" for r in refused)
    return TaskOutcome(TaskState.FAILED, "consent_missing", f"no consented provider: {needs}")


def _lost(exc: ProviderError) -> bool:
    """The provider no longer knows the task (expired, or never kept): polling cannot help."""
    return isinstance(exc, ProviderUnavailable) and exc.code == "lost"


def _fails_over(exc: ProviderError) -> bool:
    return exc.retryable or isinstance(exc, ProviderAuthError | ProviderBalanceExhausted)


def _failed(exc: ProviderError, default_code: str) -> TaskOutcome:
    return TaskOutcome(TaskState.FAILED, exc.code or default_code, str(exc))


def _best_effort_cancel(provider: Provider, provider_task_id: str) -> None:
    try:
        provider.cancel(provider_task_id)
    except ProviderError as exc:
        log.info("cancel at %s failed: %s", provider.name, exc)
