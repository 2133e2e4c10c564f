"""Data-subject requests: the register compliance staff work from."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, String, Text
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
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
