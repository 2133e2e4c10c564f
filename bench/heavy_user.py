"""A heavy user's rows for the export and erasure benchmarks: many ledger transfers, and
finished tasks with their uploads and data-transfer records, inserted in bulk."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from liveai import ledger
from liveai.generation.tasks import task_keys
from liveai.models import DataTransfer, Task, TaskState, Transfer, Upload
from liveai.storage import result_key, upload_key

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def insert_transfers(
    session: Session, user_id: uuid.UUID, count: int, key: Callable[[int], str]
) -> None:
    """``count`` one-credit grants, the first through the ledger and the rest copied from it."""
    first = ledger.grant(session, user_id, 1, key=key(0), reason="bench")
    rows = [
        {
            "id": uuid.uuid4(),
            "key": key(n),
            "kind": first.kind,
            "phase": first.phase,
            "user_id": user_id,
            "debit_account_id": first.debit_account_id,
            "credit_account_id": first.credit_account_id,
            "amount": 1,
            "shortfall": 0,
            "reason": "bench",
            "actor": "bench",
            "created_at": NOW,
        }
        for n in range(1, count)
    ]
    for at in range(0, len(rows), 5000):
        session.execute(insert(Transfer), rows[at : at + 5000])


def insert_tasks(
    session: Session,
    user_id: uuid.UUID,
    count: int,
    *,
    upload_bytes: int,
    posters: bool,
    uploads_deleted: bool,
) -> list[dict[str, Any]]:
    """``count`` succeeded tasks with their uploads and data-transfer records; the task rows."""
    uploads = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "storage_key": upload_key(user_id, f"{n}.jpg"),
            "media_type": "image/jpeg",
            "size_bytes": upload_bytes,
            "sha256": "0" * 64,
            "width": 640,
            "height": 480,
            "created_at": NOW,
            "delete_after": NOW + timedelta(days=30),
            "deleted_at": NOW if uploads_deleted else None,
        }
        for n in range(count)
    ]
    session.execute(insert(Upload), uploads)
    task_ids = [uuid.uuid4() for _ in uploads]
    tasks = [
        {
            "id": task_id,
            "user_id": user_id,
            "upload_id": u["id"],
            "state": TaskState.SUCCEEDED,
            "prompt": "a calm sea",
            "motion": "zoom_in",
            "duration_s": 5,
            "price": 10,
            "hold_key": task_keys(task_id).hold,
            "result_key": result_key(user_id, f"{n}.mp4"),
            "poster_key": result_key(user_id, f"{n}.jpg") if posters else None,
            "attempts": 1,
            "polls": 3,
            "cancel_requested": False,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n, (u, task_id) in enumerate(zip(uploads, task_ids, strict=True))
    ]
    session.execute(insert(Task), tasks)
    records = [
        {
            "task_id": t["id"],
            "user_id": user_id,
            "provider": "kling",
            "region": "mainland_china",
            "items": ["image", "prompt"],
            "transport": "base64",
            "at": NOW,
        }
        for t in tasks
    ]
    session.execute(insert(DataTransfer), records)
    return tasks
