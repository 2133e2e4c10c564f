"""Generations: the uploaded photos, the tasks that turn them into videos, and the record
of which third party received what (GDPR Art. 15(1)(c), PIPL Art. 39)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from liveai.models.base import Base, uuid_pk


class TaskState(enum.StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(500), unique=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    delete_after: Mapped[datetime | None] = mapped_column(index=True)
    deleted_at: Mapped[datetime | None]


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index(
            "ix_tasks_notify_pending",
            "finished_at",
            postgresql_where=text("notify_pending"),
            sqlite_where=text("notify_pending"),
        ),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    upload_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("uploads.id"), index=True)
    state: Mapped[TaskState] = mapped_column(
        Enum(
            TaskState, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
        ),
        default=TaskState.QUEUED,
        index=True,
    )
    prompt: Mapped[str] = mapped_column(Text)
    motion: Mapped[str] = mapped_column(String(32))
    duration_s: Mapped[int] = mapped_column(Integer)
    requested_provider: Mapped[str | None] = mapped_column(String(32))
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_task_id: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    price: Mapped[int] = mapped_column(Integer)
    charged: Mapped[int | None] = mapped_column(Integer)
    hold_key: Mapped[str] = mapped_column(String(200))
    result_key: Mapped[str | None] = mapped_column(String(500))
    poster_key: Mapped[str | None] = mapped_column(String(500))
    result_url: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    # A caller-chosen key (a batch manifest line) so re-running the same request is a no-op.
    client_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(index=True)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # Settled, but whoever listens for finished tasks (completion pushes) not yet told.
    notify_pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Providers a run passed over, and why ("skipped: no cross_border consent for fal").
    skipped: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class DataTransfer(Base):
    __tablename__ = "data_transfers"
    __table_args__ = (
        UniqueConstraint("task_id", "provider", name="uq_data_transfers_task_id_provider"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Nullable: the record of who received data outlives the task (erasure keeps it).
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    items: Mapped[list[Any]] = mapped_column(JSON)
    transport: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
