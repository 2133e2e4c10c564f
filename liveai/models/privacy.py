"""Data-subject requests: the register compliance staff work from."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from liveai.models.base import Base, uuid_pk


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class RequestKind(enum.StrEnum):
    EXPORT = "export"
    DELETION = "deletion"
    CORRECTION = "correction"
    GUARDIAN = "guardian"
    OBJECTION = "objection"


class RequestState(enum.StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    EXTENDED = "extended"
    AWAITING_MANUAL = "awaiting_manual"
    COMPLETED = "completed"
    REFUSED = "refused"


class PrivacyRequest(Base):
    __tablename__ = "privacy_requests"

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind))
    channel: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(8))
    state: Mapped[RequestState] = mapped_column(_enum(RequestState), index=True)
    received_at: Mapped[datetime]
    received_on: Mapped[date]
    due_on: Mapped[date] = mapped_column(index=True)
    due_basis: Mapped[str] = mapped_column(String(40))
    due_provisional: Mapped[bool]
    calendar_version: Mapped[str] = mapped_column(String(20))
    gdpr_due_on: Mapped[date | None]
    verification: Mapped[str | None] = mapped_column(String(16))
    verification_note: Mapped[str | None] = mapped_column(Text)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
    completed_on: Mapped[date | None]
    on_time: Mapped[bool | None]
    completion_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RequestStep(Base):
    """A follow-up done by hand (revoke Sign in with Apple, delete the Logto user) that
    keeps its request open until someone confirms it with a note."""

    __tablename__ = "request_steps"
    __table_args__ = (UniqueConstraint("request_id", "key", name="uq_request_steps_request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("privacy_requests.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class ErasureRun(Base):
    """Progress of one account erasure, so that a crash is finished by running it again.

    ``user_id`` is the erased account's id (also what audit events name); no foreign key,
    since the user row is gone at the end. ``pseudonym_id`` links the run to the tombstone
    only while it runs, and is cleared on completion so the link cannot be reversed; so
    are ``identifiers`` (what the scans look for) and ``request_id``. One run per user is
    open at a time.
    """

    __tablename__ = "erasure_runs"
    __table_args__ = (
        Index(
            "uq_erasure_runs_open",
            "user_id",
            unique=True,
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    request_id: Mapped[uuid.UUID | None]
    pseudonym_id: Mapped[uuid.UUID | None]
    identifiers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    steps_done: Mapped[list[str]] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
