"""What each retained category holds, its retention, and what is due next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai.models.generation import Task, Upload
from liveai.retention.nginx_logs import sweep_logs
from liveai.settings import Settings

if TYPE_CHECKING:
    from liveai.privacy.facts import OperatorFacts


@dataclass(frozen=True)
class CategoryStatus:
    category: str
    retention: str
    held: int
    held_bytes: int | None
    next_due: datetime | None
    overdue: int

    def as_dict(self) -> dict[str, object]:
        return {
            "category": self.category,
            "retention": self.retention,
            "held": self.held,
            "held_bytes": self.held_bytes,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "overdue": self.overdue,
        }


def uploads_status(session: Session, settings: Settings, now: datetime) -> CategoryStatus:
    live = Upload.deleted_at.is_(None)
    held, size = session.execute(
        select(func.count(), func.coalesce(func.sum(Upload.size_bytes), 0)).where(live)
    ).one()
    next_due = session.scalar(
        select(func.min(Upload.delete_after)).where(live, Upload.delete_after > now)
    )
    overdue = session.scalar(
        select(func.count()).where(live, Upload.delete_after <= now - timedelta(days=1))
    )
    return CategoryStatus(
        "uploaded photos",
        f"{settings.upload_retention_days} days after the generation ends",
        int(held),
        int(size),
        next_due,
        int(overdue or 0),
    )


def results_status(session: Session) -> CategoryStatus:
    held = session.scalar(
        select(func.count()).where(Task.result_key.is_not(None), Task.deleted_at.is_(None))
    )
    return CategoryStatus(
        "result videos", "until the user deletes the work", int(held or 0), None, None, 0
    )


def logs_status(folder: Path, days: int, now: datetime, log_format: str) -> CategoryStatus:
    """Rotated nginx logs in ``folder``, judged like the sweep judges them."""
    report = sweep_logs(folder, days=days, now=now, dry_run=True, log_format=log_format)
    held = [*report.removed, *report.kept, *report.unreadable]
    due = [f.newest + timedelta(days=days) for f in report.kept if f.newest is not None]
    return CategoryStatus(
        "nginx access logs (IP, user agent)",
        f"{days} days after the newest entry",
        len(held),
        sum(f.size for f in held),
        min(due, default=None),
        len(report.removed),
    )


def retention_status(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    log_dir: Path | None = None,
    facts: OperatorFacts | None = None,
) -> list[CategoryStatus]:
    found = [uploads_status(session, settings, now), results_status(session)]
    if log_dir is not None:
        found.append(
            logs_status(log_dir, settings.log_retention_days, now, settings.nginx_log_format)
        )
    if facts is not None:
        # In the function: records imports CategoryStatus from here (a cycle).
        from liveai.retention.records import kept_status

        found.extend(kept_status(session, facts, now))
    return found
