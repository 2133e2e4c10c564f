"""App Store purchases credited to users, and the server notifications Apple sent."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from liveai.models.base import Base, uuid_pk


class PurchaseState(enum.StrEnum):
    CREDITED = "credited"
    REFUNDED = "refunded"
    REFUND_REVERSED = "refund_reversed"


class Purchase(Base):
    """One consumable App Store transaction, credited once to one user."""

    __tablename__ = "purchases"

    id: Mapped[uuid_pk]
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    original_transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    product_id: Mapped[str] = mapped_column(String(200))
    environment: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    credits: Mapped[int]
    state: Mapped[PurchaseState] = mapped_column(
        Enum(
            PurchaseState,
            native_enum=False,
            length=32,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=PurchaseState.CREDITED,
    )
    source: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    transfer_key: Mapped[str] = mapped_column(String(200))
    refunds: Mapped[int] = mapped_column(default=0)
    purchased_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StoreNotification(Base):
    """An App Store Server Notification V2, kept once per notificationUUID."""

    __tablename__ = "store_notifications"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    notification_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    notification_type: Mapped[str] = mapped_column(String(64), index=True)
    subtype: Mapped[str | None] = mapped_column(String(64))
    environment: Mapped[str | None] = mapped_column(String(20))
    transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
