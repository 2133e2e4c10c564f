"""Sign in with Apple refresh tokens, kept encrypted so account deletion can revoke them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liveai.models.base import Base


class AppleCredential(Base):
    __tablename__ = "apple_credentials"
    __table_args__ = (
        UniqueConstraint("user_id", "client_id", name="uq_apple_credentials_user_id_client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    refresh_token_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
