"""Workers: claim unfinished tasks one at a time and run them, on any number of machines.

A claim is a lease written in the task row. On PostgreSQL the claim query takes the row
with ``FOR UPDATE SKIP LOCKED``, so concurrent workers each get a different task without
waiting on each other; on SQLite the write lock serialises claims.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from liveai.generation.lifecycle import Claim, Lifecycle, default_runner_id

log = logging.getLogger(__name__)


@dataclass
class WorkReport:
    """What a worker run did: task ids by final state; the tasks it took, and those it
    will not take again (they raised, or came back to it after running once)."""

    finished: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    tried: set[uuid.UUID] = field(default_factory=set)
    skipped: set[uuid.UUID] = field(default_factory=set)
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


def work(
    lifecycle: Lifecycle,
    *,
    concurrency: int = 1,
    once: bool = False,
    stop: threading.Event | None = None,
    idle_s: float = 2.0,
    on_task: Callable[[uuid.UUID, str], None] | None = None,
) -> WorkReport:
    """Run tasks with ``concurrency`` threads until none is left (``once``) or ``stop`` is set.

    Each thread is its own runner (its own lease owner id). A task that raises is handed
    back and left for a later run (or another worker). First, completion notices a crashed
    runner owed are sent.
    """
    missed = lifecycle.announce_missed()
    if missed:
        log.info("sent %d completion notice(s) a stopped runner owed", missed)
    stop = stop or threading.Event()
    report = WorkReport()
    drained = threading.Event()  # once: a thread found nothing left, the others stop too

    def loop() -> None:
        runner = replace(lifecycle, runner_id=default_runner_id())
        while not stop.is_set() and not drained.is_set():
            # One try per task per run: a task that raised waits for the next run. Only
            # those are left out of the claim; one that comes back anyway (it raised just
            # now) is handed back.
            with report.lock:
                skip = list(report.skipped)
            claim = runner.claim_next(skip)
            if claim is None:
                if once:
                    drained.set()
                    return
                stop.wait(idle_s)
                continue
            if report.first_try(claim.task.id):
                _run_one(runner, claim, report, on_task)
            else:
                runner.release(claim.task.id)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        raise
    return report


def _run_one(
    runner: Lifecycle,
    claim: Claim,
    report: WorkReport,
    on_task: Callable[[uuid.UUID, str], None] | None,
) -> None:
    task_id = claim.task.id
    try:
        task = runner.run_claimed(claim)
    except Exception as exc:
        log.exception("task %s failed to run; it stays queued for a retry", task_id)
        with report.lock:
            report.skipped.add(task_id)
            report.errors.append(f"{task_id}: {exc}")
        return
    report.add(task.state.value, task_id)
    if on_task is not None:
        on_task(task_id, task.state.value)
