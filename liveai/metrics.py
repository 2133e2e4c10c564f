"""A worker's Prometheus metrics (`liveai worker --metrics-port`), with prometheus-client.

Counters and histograms hear the worker's task transitions; the queue depth and the
credits held are read from the database when Prometheus scrapes (the whole fleet's view,
the same from every worker: alert on `max`, not `sum`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from liveai.db import Database
from liveai.generation.transitions import FINAL, Transition
from liveai.models import Task, TaskState
from liveai.models.ledger import HoldState, Transfer

_LATENCY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, float("inf"))
# The codes a moderation refusal carries (ours, and the providers' own screening).
MODERATION_CODES = frozenset({"rejected", "blocked_term", "moderation", "content_rejected"})


class WorkerMetrics:
    """The metrics of one worker process, in a registry of their own."""

    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.claimed = Counter(
            "liveai_tasks_claimed", "Tasks claimed by this worker", ["provider"], registry=r
        )
        self.finished = Counter(
            "liveai_tasks_finished",
            "Tasks this worker drove to an end",
            ["state", "provider"],
            registry=r,
        )
        self.generation = Histogram(
            "liveai_generation_seconds",
            "From the task's creation to its end",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.provider_latency = Histogram(
            "liveai_provider_seconds",
            "From the submit to the provider's finished video",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.failovers = Counter(
            "liveai_failovers", "Tasks moved on to the next provider", ["provider"], registry=r
        )
        self.refusals = Counter(
            "liveai_moderation_refusals", "Tasks refused by moderation", ["provider"], registry=r
        )
        self.retries = Counter("liveai_task_retries", "Failed runs retried later", registry=r)
        self.leases_lost = Counter(
            "liveai_leases_lost", "Tasks another runner took over from us", registry=r
        )
        r.register(_FleetCollector(database))

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        """Serve /metrics on ``address``:``port`` from a daemon thread."""
        start_http_server(port, addr=address, registry=self.registry)

    def __call__(self, moved: Transition) -> None:
        task = moved.task
        provider = task.provider or task.requested_provider or "auto"  # auto: not chosen yet
        if moved.stage == "claimed":
            self.claimed.labels(provider).inc()
        elif moved.stage == "failover":
            self.failovers.labels(provider).inc()
        elif moved.stage == "retry":
            self.retries.inc()
        elif moved.stage == "lease_lost":
            self.leases_lost.inc()
        elif moved.stage in FINAL:
            self._finished(task, moved.stage, provider)

    def _finished(self, task: Task, state: str, provider: str) -> None:
        self.finished.labels(state, provider).inc()
        if task.error_code in MODERATION_CODES:
            self.refusals.labels(provider).inc()
        if task.finished_at is None:
            return
        self.generation.labels(provider).observe(_seconds(task.created_at, task.finished_at))
        if task.submitted_at is not None and state == TaskState.SUCCEEDED.value:
            seconds = _seconds(task.submitted_at, task.finished_at)
            self.provider_latency.labels(provider).observe(seconds)


def _seconds(start: object, end: object) -> float:
    from datetime import datetime

    assert isinstance(start, datetime) and isinstance(end, datetime)
    aware = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end)]
    return max(0.0, (aware[1] - aware[0]).total_seconds())


class _FleetCollector(Collector):
    """Queue depth and credits held, read from the database at scrape time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.database.transaction() as session:
                queued = session.scalar(
                    select(func.count())
                    .select_from(Task)
                    .where(Task.state == TaskState.QUEUED, Task.deleted_at.is_(None))
                )
                held = session.scalar(
                    select(func.coalesce(func.sum(Transfer.amount), 0)).where(
                        Transfer.state == HoldState.PENDING
                    )
                )
        except Exception:  # a scrape during an outage shows the outage, not a stack
            return
        yield GaugeMetricFamily("liveai_queue_depth", "Tasks waiting to be claimed", queued)
        yield GaugeMetricFamily("liveai_credits_held", "Credits in open holds", held)
