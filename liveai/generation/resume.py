"""`liveai tasks resume`: finish what is left, taking over from gone runners at once.

A run-once worker does the work; with ``wait``, tasks that live runners held are waited
for until their leases lapse (or they finish), and then finished here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from liveai.generation.lifecycle import Lifecycle
from liveai.generation.takeover import Held
from liveai.generation.worker import WorkReport, work


@dataclass
class Resumed:
    """What a resume did: the run's report, the tasks taken over from gone runners, and
    the leases live runners still hold."""

    report: WorkReport
    taken_over: list[uuid.UUID] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)


def resume_all(
    lifecycle: Lifecycle,
    *,
    concurrency: int = 4,
    wait: bool = False,
    on_task: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Resumed:
    """Run every unfinished task nobody live holds; with ``wait``, also those whose lease
    lapses while waiting."""
    report = _run(lifecycle, concurrency, on_task)
    resumed = Resumed(report, list(report.taken_over), list(report.held))
    while wait and resumed.held:
        ends = min(_aware(h.until) for h in resumed.held)
        sleep(max(0.0, (ends - lifecycle.clock.now()).total_seconds()) + 0.5)
        more = _run(lifecycle, concurrency, on_task)
        _merge(report, more)
        resumed.taken_over += more.taken_over
        resumed.held = list(more.held)
    return resumed


def _run(
    lifecycle: Lifecycle, concurrency: int, on_task: Callable[[str], None] | None
) -> WorkReport:
    told = None if on_task is None else (lambda task_id, state: on_task(state))
    return work(lifecycle, concurrency=concurrency, once=True, on_task=told)


def _merge(into: WorkReport, more: WorkReport) -> None:
    for state, ids in more.finished.items():
        into.finished.setdefault(state, []).extend(ids)
    into.errors += more.errors


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
