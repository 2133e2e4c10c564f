"""APNs device tokens: used only to deliver job-completion notifications."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from liveai.models.base import Base


class ApnsEnvironment(enum.StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token: Mapped[str] = mapped_column(String(200), unique=True)
    environment: Mapped[ApnsEnvironment] = mapped_column(
        Enum(
            ApnsEnvironment,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    app_version: Mapped[str | None] = mapped_column(String(50))
    ios_version: Mapped[str | None] = mapped_column(String(50))
    locale: Mapped[str | None] = mapped_column(String(35))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
