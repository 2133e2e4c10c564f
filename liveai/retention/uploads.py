"""Delete uploaded photos whose retention ended, in batches, resumably and concurrently.

A batch is claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises
writers), its objects deleted from storage, and its rows marked, in one transaction. A
crash between the two leaves the rows unmarked: the next run deletes the (already absent)
objects again, which storage treats as success, and marks them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.orm import Session

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.models.generation import Task, TaskState, Upload
from liveai.storage import Storage

BATCH_SIZE = 1000
LATE_AFTER = timedelta(days=1)  # removed more than a day after its deadline: a breach to report
PARTIAL_AFTER = timedelta(hours=1)  # a write still unfinished after this was abandoned
RUNNING_STATES = (TaskState.QUEUED, TaskState.SUBMITTED, TaskState.RUNNING)


@dataclass
class SweepReport:
    dry_run: bool
    now: datetime
    removed: int = 0
    bytes_removed: int = 0
    batches: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    late: int = 0
    most_late: timedelta | None = None
    overdue_left: int = 0
    next_due: datetime | None = None
    partial_removed: int = 0

    @property
    def warnings(self) -> list[str]:
        found = []
        if self.late:
            verb = "are" if self.dry_run else "were"
            found.append(
                f"{self.late} uploads {verb} more than a day past their deadline "
                f"(the worst by {self.most_late})"
            )
        if self.overdue_left:
            found.append(f"{self.overdue_left} uploads are past their deadline and still held")
        if self.failed:
            found.append(f"{len(self.failed)} objects could not be deleted from storage")
        return found


def due_uploads(now: datetime) -> Select[Upload]:
    """Uploads whose time is up, whose task is finished, oldest deadline first."""
    running = exists().where(Task.upload_id == Upload.id, Task.state.in_(RUNNING_STATES))
    return (
        select(Upload)
        .where(Upload.deleted_at.is_(None), Upload.delete_after <= now, ~running)
        .order_by(Upload.delete_after)
    )


def _claim_batch(session: Session, now: datetime, size: int) -> Sequence[Upload]:
    query = due_uploads(now).limit(size)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Upload)
    return session.scalars(query).all()


def _note_lateness(report: SweepReport, uploads: Sequence[Upload]) -> None:
    for upload in uploads:
        assert upload.delete_after is not None
        lateness = report.now - upload.delete_after
        if lateness > LATE_AFTER:
            report.late += 1
            report.most_late = max(report.most_late or lateness, lateness)


def _sweep_batch(
    database: Database, storage: Storage, report: SweepReport, clock: Clock, size: int
) -> bool:
    """Remove one batch; False when nothing was left to claim."""
    with database.transaction() as session:
        batch = _claim_batch(session, report.now, size)
        if not batch:
            return False
        result = storage.delete_many([u.storage_key for u in batch])
        failed = dict(result.failed)
        done = [u for u in batch if u.storage_key not in failed]
        if done:
            session.execute(
                update(Upload)
                .where(Upload.id.in_([u.id for u in done]))
                .values(deleted_at=clock.now())
                .execution_options(synchronize_session=False)
            )
        report.removed += len(done)
        report.bytes_removed += sum(u.size_bytes for u in done)
        report.failed.extend(result.failed)
        report.batches += 1
        _note_lateness(report, done)
        return len(done) > 0


def _preview(database: Database, report: SweepReport) -> None:
    with database.transaction() as session:
        due = session.scalars(due_uploads(report.now)).all()
        report.removed = len(due)
        report.bytes_removed = sum(u.size_bytes for u in due)
        _note_lateness(report, due)


def _finish(database: Database, report: SweepReport) -> None:
    with database.transaction() as session:
        if not report.dry_run:
            report.overdue_left = _still_held(session, report.now)
        report.next_due = session.scalar(
            select(func.min(Upload.delete_after)).where(
                Upload.deleted_at.is_(None), Upload.delete_after > report.now
            )
        )


def _still_held(session: Session, now: datetime) -> int:
    """Uploads past their deadline and not deleted; on PostgreSQL not counting those a
    concurrent sweep has claimed (locked) and is deleting right now."""
    overdue = select(Upload.id).where(Upload.deleted_at.is_(None), Upload.delete_after <= now)
    if session.get_bind().dialect.name == "postgresql":
        overdue = overdue.with_for_update(skip_locked=True, of=Upload)
    return session.scalar(select(func.count()).select_from(overdue.subquery())) or 0


def sweep_uploads(
    database: Database,
    storage: Storage,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    clock: Clock = SYSTEM_CLOCK,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> SweepReport:
    """Delete every upload past its delete-after time (as of ``now``), batch by batch;
    ``on_batch(removed so far)`` hears each batch."""
    report = SweepReport(dry_run=dry_run, now=now or clock.now())
    if dry_run:
        _preview(database, report)
    else:
        while _sweep_batch(database, storage, report, clock, batch_size):
            if on_batch is not None:
                on_batch(report.removed)
        # Writes a crash abandoned (a whole video, maybe) hold data no row points at.
        report.partial_removed = storage.clean_partial(report.now - PARTIAL_AFTER)
    _finish(database, report)
    return report
