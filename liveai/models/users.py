"""People: users and the (issuer, subject) identities bound to them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liveai.models.base import Base, uuid_pk


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    DELETION_PENDING = "deletion_pending"
    ERASED = "erased"
    # Policy acceptance withdrawn: nothing is processed until it is given again.
    RESTRICTED = "restricted"


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid_pk]
    status: Mapped[UserStatus] = mapped_column(
        Enum(
            UserStatus, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
        ),
        default=UserStatus.ACTIVE,
    )
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    identities: Mapped[list[Identity]] = relationship(
        back_populates="user", order_by="Identity.id", cascade="all, delete-orphan"
    )


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_identities_issuer_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="identities")
