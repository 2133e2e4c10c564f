"""Workers: claim unfinished tasks one at a time and run them, on any number of machines.

A claim is a lease written in the task row. On PostgreSQL the claim query takes the row
with ``FOR UPDATE SKIP LOCKED``, so concurrent workers each get a different task without
waiting on each other; on SQLite the write lock serialises claims.

A worker is a service: it takes over at once the tasks of runners that are provably gone
(`takeover`), drains on request (stop claiming, finish or hand back within a grace),
rides out a database outage with backoff (exiting with a reason after
``worker_db_give_up_s``), and retries a task that raised with backoff, a bounded number of
times, before failing it with its hold voided.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from liveai import stopping
from liveai.generation.lifecycle import Claim, Lifecycle, default_runner_id
from liveai.generation.takeover import Held, take_over
from liveai.generation.transitions import Observer, Transitions
from liveai.logcontext import bound
from liveai.outage import Backoff, database_unavailable, is_database_outage

log = logging.getLogger("liveai.worker")


@dataclass
class WorkReport:
    """What a worker run did: task ids by final state; the tasks it took, and those it
    will not take again (they raised, or came back to it after running once); tasks it
    took over from gone runners, leases it found held by live ones, tasks it handed back;
    why it stopped early (a request, a limit), or why it gave up."""

    finished: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    tried: set[uuid.UUID] = field(default_factory=set)
    skipped: set[uuid.UUID] = field(default_factory=set)
    taken_over: list[uuid.UUID] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    handed_back: list[uuid.UUID] = field(default_factory=list)
    claimed: int = 0
    stopped_by: str | None = None
    gave_up: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def first_try(self, task_id: uuid.UUID) -> bool:
        """Note a claimed task; False (and skip it from now on) when it was tried before."""
        with self.lock:
            if task_id not in self.tried:
                self.tried.add(task_id)
                return True
            self.skipped.add(task_id)
            return False

    def add(self, state: str, task_id: uuid.UUID) -> None:
        with self.lock:
            self.finished.setdefault(state, []).append(str(task_id))

    def count(self, state: str) -> int:
        return len(self.finished.get(state, []))

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.finished.values())


@dataclass(frozen=True)
class Limits:
    """When a worker stops on its own: after ``max_tasks`` claims or ``max_seconds`` (for
    recycling), and how long a drain may take before tasks are handed back."""

    max_tasks: int | None = None
    max_seconds: float | None = None
    grace_s: float = 30.0


def work(
    lifecycle: Lifecycle,
    *,
    concurrency: int = 1,
    once: bool = False,
    stop: threading.Event | None = None,
    idle_s: float = 2.0,
    on_task: Callable[[uuid.UUID, str], None] | None = None,
    limits: Limits = Limits(),
    observers: Sequence[Observer] = (),
) -> WorkReport:
    """Run tasks with ``concurrency`` threads until none is left (``once``), ``stop`` is set
    (a drain: no more claims; what runs finishes, or after ``limits.grace_s`` is handed
    back) or a limit is reached; a stop request (`stopping`) hands everything back now.

    Each thread is its own runner (its own lease owner id). First, tasks whose runner is
    provably gone are taken over and completion notices a crashed runner owed are sent.
    """
    stop = stop or threading.Event()
    report = WorkReport()
    database = _DatabaseWatch(lifecycle.settings.worker_db_give_up_s, stop, report)
    while database.call(lambda: _start(lifecycle, report)) is not True:
        if stop.is_set():  # gave up, or asked to stop, before the database answered
            return report
    retries = _Retries(once, lifecycle)
    transitions = Transitions(observers)
    drained = threading.Event()  # once: a thread found nothing left, the others stop too
    progress = _chain(lifecycle.progress, transitions)
    holding: dict[uuid.UUID, Lifecycle] = {}

    def loop() -> None:
        runner = replace(lifecycle, runner_id=default_runner_id(), progress=progress)
        pending: list[uuid.UUID] = []  # leases a failed release left behind
        while not stop.is_set() and not drained.is_set():
            if pending and database.call(lambda: _release_all(runner, pending)) is None:
                continue
            claim = database.call(lambda: runner.claim_next(retries.skip(report)))
            if claim is _UNAVAILABLE:
                continue
            if claim is None:
                if once:
                    drained.set()
                    return
                stop.wait(idle_s)
                continue
            assert isinstance(claim, Claim)
            if not _admit(limits, report, stop):
                pending.append(claim.task.id)
                database.call(lambda: _release_all(runner, pending))
                return
            with report.lock:
                holding[claim.task.id] = runner
            try:
                _take(runner, claim, report, retries, transitions, database, pending, on_task)
            finally:
                with report.lock:
                    holding.pop(claim.task.id, None)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        _supervise(threads, stop, limits, report)
    except KeyboardInterrupt:
        stop.set()
        stopping.request_stop()
        _join(threads, 5.0)
        raise
    finally:
        _hand_back_left(holding, report)
    return report


def _start(lifecycle: Lifecycle, report: WorkReport) -> bool:
    found = take_over(lifecycle.database, lifecycle.clock)
    report.taken_over, report.held = found.taken, found.held
    missed = lifecycle.announce_missed()
    if missed:
        log.info("sent %d completion notice(s) a stopped runner owed", missed)
    return True


def _admit(limits: Limits, report: WorkReport, stop: threading.Event) -> bool:
    """Count a claim against ``max_tasks``; False (and start a drain) once it is spent."""
    with report.lock:
        if limits.max_tasks is not None and report.claimed >= limits.max_tasks:
            report.stopped_by = report.stopped_by or f"--max-tasks {limits.max_tasks}"
            stop.set()
            return False
        report.claimed += 1
        return True


def _take(
    runner: Lifecycle,
    claim: Claim,
    report: WorkReport,
    retries: _Retries,
    transitions: Transitions,
    database: _DatabaseWatch,
    pending: list[uuid.UUID],
    on_task: Callable[[uuid.UUID, str], None] | None,
) -> None:
    task_id = claim.task.id
    if not retries.may_run(task_id, report):
        runner.release(task_id)
        return
    if retries.spent(task_id):
        _give_up(runner, task_id, retries, report, on_task)
        return
    transitions.begin(claim.task)
    try:
        with bound(task_id=task_id, user_id=claim.task.user_id):
            _run_one(runner, claim, report, (retries, transitions), database, pending, on_task)
    finally:
        transitions.end(task_id)


def _run_one(
    runner: Lifecycle,
    claim: Claim,
    report: WorkReport,
    hooks: tuple[_Retries, Transitions],
    database: _DatabaseWatch,
    pending: list[uuid.UUID],
    on_task: Callable[[uuid.UUID, str], None] | None,
) -> None:
    task_id = claim.task.id
    retries, transitions = hooks
    try:
        task = runner.run_claimed(claim)
    except stopping.Stopped:
        log.info("task %s handed back: the worker is stopping", task_id)
        with report.lock:
            report.handed_back.append(task_id)
        return
    except Exception as exc:
        if is_database_outage(exc):
            pending.append(task_id)  # its release failed too: hand it back once the db answers
            database.failed(exc)
            return
        _note_failure(task_id, exc, report, retries)
        transitions.note(task_id, "retry")
        return
    if not task.state.terminal:
        transitions.note(task_id, "lease_lost")  # another runner took it (our lease lapsed)
        return
    retries.forget(task_id)
    report.add(task.state.value, task_id)
    if on_task is not None:
        on_task(task_id, task.state.value)


def _note_failure(
    task_id: uuid.UUID, exc: Exception, report: WorkReport, retries: _Retries
) -> None:
    delay = retries.failed(task_id, str(exc), report)
    with report.lock:
        report.errors.append(f"{task_id}: {exc}")
    if delay is None:
        log.error("task %s failed to run: %s; left queued for the next run", task_id, exc)
    elif retries.spent(task_id):
        log.error("task %s failed to run: %s; it fails at its next claim", task_id, exc)
    else:
        log.warning(
            "task %s failed to run: %s; retry %d of %d in %.0f s",
            task_id,
            exc,
            retries.count(task_id),
            retries.limit,
            delay,
        )


def _give_up(
    runner: Lifecycle,
    task_id: uuid.UUID,
    retries: _Retries,
    report: WorkReport,
    on_task: Callable[[uuid.UUID, str], None] | None,
) -> None:
    message = f"gave up after {retries.count(task_id)} failed runs: {retries.last(task_id)}"
    task = runner.give_up(task_id, message)
    retries.forget(task_id)
    log.error("task %s failed: %s; its credits are released", task_id, message)
    report.add(task.state.value, task_id)
    if on_task is not None:
        on_task(task_id, task.state.value)


def _release_all(runner: Lifecycle, pending: list[uuid.UUID]) -> bool:
    while pending:
        runner.release(pending[0])
        pending.pop(0)
    return True


def _supervise(
    threads: list[threading.Thread], stop: threading.Event, limits: Limits, report: WorkReport
) -> None:
    """Wait for the threads; enforce ``max_seconds``; a drain longer than the grace ends in
    a stop request (what is still running is handed back)."""
    started = time.monotonic()
    drain_since: float | None = None
    while alive := [thread for thread in threads if thread.is_alive()]:
        alive[0].join(0.2)
        now = time.monotonic()
        over = limits.max_seconds is not None and now - started >= limits.max_seconds
        if over and not stop.is_set():
            report.stopped_by = report.stopped_by or f"--max-seconds {limits.max_seconds}"
            stop.set()
        if stop.is_set() and drain_since is None:
            drain_since = now
        if drain_since is not None and now - drain_since >= limits.grace_s:
            stopping.request_stop()


def _join(threads: list[threading.Thread], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _hand_back_left(holding: dict[uuid.UUID, Lifecycle], report: WorkReport) -> None:
    """Release the leases of tasks threads still hold (stuck in a call) as the worker ends."""
    with report.lock:
        left = list(holding.items())
    for task_id, runner in left:
        try:
            runner.release(task_id)
        except Exception as exc:
            log.warning("task %s: could not hand it back (%s); its lease will lapse", task_id, exc)
            continue
        log.info("task %s handed back: the worker is stopping", task_id)
        with report.lock:
            report.handed_back.append(task_id)


def _chain(*progresses: Callable[[uuid.UUID, str], None]) -> Callable[[uuid.UUID, str], None]:
    def both(task_id: uuid.UUID, stage: str) -> None:
        for progress in progresses:
            progress(task_id, stage)

    return both


class _Retries:
    """Tasks that raised: in a run-once (`tasks resume`) each gets one try; a long-running
    worker retries each with backoff, ``worker_task_retries`` times, then fails it."""

    def __init__(self, once: bool, lifecycle: Lifecycle) -> None:
        self.once = once
        self.limit = lifecycle.settings.worker_task_retries
        self.base = lifecycle.settings.worker_retry_base_s
        self.failures: dict[uuid.UUID, tuple[int, float, str]] = {}
        self.lock = threading.Lock()

    def skip(self, report: WorkReport) -> list[uuid.UUID]:
        """The tasks not to claim now: tried in a run-once, or waiting out their backoff."""
        if self.once:
            with report.lock:
                return list(report.skipped)
        now = time.monotonic()
        with self.lock:
            return [task_id for task_id, (_, at, _) in self.failures.items() if at > now]

    def may_run(self, task_id: uuid.UUID, report: WorkReport) -> bool:
        """Whether a claimed task may run now (one that raised just now comes back)."""
        if self.once:
            return report.first_try(task_id)
        with self.lock:
            found = self.failures.get(task_id)
        return found is None or found[1] <= time.monotonic()

    def failed(self, task_id: uuid.UUID, error: str, report: WorkReport) -> float | None:
        """Note a failed run; the wait before its retry (None in a run-once)."""
        if self.once:
            with report.lock:
                report.skipped.add(task_id)
            return None
        with self.lock:
            count = self.failures.get(task_id, (0, 0.0, ""))[0] + 1
            delay = float(min(self.base * 2 ** (count - 1), 600.0))
            self.failures[task_id] = (count, time.monotonic() + delay, error)
        return delay

    def forget(self, task_id: uuid.UUID) -> None:
        """The task ended: a long-running worker keeps no record of it."""
        if not self.once:
            with self.lock:
                self.failures.pop(task_id, None)

    def spent(self, task_id: uuid.UUID) -> bool:
        return not self.once and self.count(task_id) > self.limit

    def count(self, task_id: uuid.UUID) -> int:
        with self.lock:
            return self.failures.get(task_id, (0, 0.0, ""))[0]

    def last(self, task_id: uuid.UUID) -> str:
        with self.lock:
            return self.failures.get(task_id, (0, 0.0, ""))[2]


_UNAVAILABLE = object()


class _DatabaseWatch:
    """The worker's way through a database outage: one thread probes at a time with
    backoff, each attempt one log line; after ``give_up_s`` down, the worker stops with the
    reason in its report."""

    def __init__(self, give_up_s: float, stop: threading.Event, report: WorkReport) -> None:
        self.backoff = Backoff(give_up_s=give_up_s)
        self.stop = stop
        self.report = report
        self.lock = threading.Lock()
        self.down = threading.Event()

    def call(self, fn: Callable[[], object]) -> object:
        """``fn()``; `_UNAVAILABLE` when the database does not answer (after the wait)."""
        prober = False
        if self.down.is_set():
            prober = self.lock.acquire(timeout=1.0)
            if not prober:
                return _UNAVAILABLE
        try:
            result = fn()
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            self._failed(exc, prober)
            return _UNAVAILABLE
        finally:
            if prober:
                self.lock.release()
        if prober:
            log.warning("the database answers again after %.0f s", self.backoff.down_for)
            self.backoff.succeeded()
            self.down.clear()
        return result

    def failed(self, exc: BaseException) -> None:
        """A task's step met the outage: report it like a failed attempt."""
        if self.lock.acquire(blocking=False):
            try:
                self._failed(exc, True)
            finally:
                self.lock.release()

    def _failed(self, exc: BaseException, prober: bool) -> None:
        if not prober and not self.lock.acquire(blocking=False):
            self.stop.wait(1.0)  # another thread reports and paces this outage
            return
        try:
            self.down.set()
            delay = self.backoff.failed()
            reason = database_unavailable(exc).message
            if self.backoff.exhausted:
                self.report.gave_up = (
                    f"{reason}; gave up after {self.backoff.down_for:.0f} s "
                    f"({self.backoff.attempts} attempts)"
                )
                log.error("%s", self.report.gave_up)
                self.stop.set()
                return
            log.warning(
                "%s; attempt %d, down %.0f s, next try in %.1f s",
                reason,
                self.backoff.attempts,
                self.backoff.down_for,
                delay,
            )
            self.stop.wait(delay)
        finally:
            if not prober:
                self.lock.release()
