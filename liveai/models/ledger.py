"""The credits ledger: accounts with cached balances, and immutable transfers between them.

TigerBeetle's model on SQL: a transfer moves an amount from a debit account to a credit
account; a pending transfer (a hold) reserves its amount until it is posted, voided or
expires. System accounts are split into shards so that concurrent transfers of different
users do not all queue on one hot balance row.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from liveai.models.base import Base, uuid_pk


def _enum(cls: type[enum.Enum], length: int) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class TransferKind(enum.StrEnum):
    PURCHASE = "purchase"
    GRANT = "grant"
    CONSUME = "consume"
    REFUND = "refund"
    CLAWBACK = "clawback"
    CORRECTION = "correction"


class TransferPhase(enum.StrEnum):
    """What a transfer does: moves posted credits, opens a hold, or resolves one."""

    SINGLE = "single"
    PENDING = "pending"
    POST = "post"
    VOID = "void"
    EXPIRE = "expire"


class HoldState(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class LedgerAccount(Base):
    """One balance row: a user's credits account, or one shard of a system account."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("code", "shard", name="uq_ledger_accounts_code_shard"),
        CheckConstraint(
            "NOT guarded OR credits_posted - debits_posted - debits_pending >= 0",
            name="not_overdrawn",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64))
    shard: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), unique=True)
    # debits must not exceed credits (TigerBeetle's flag): true for user accounts
    guarded: Mapped[bool]
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


# Holds still pending, which expire: what the expiry sweeps look for. Its index covers only
# these rows, and a query can use it only if it states this whole condition; claiming one
# hold by its key never states the timeout, so the claim always goes through the unique key
# (with stale statistics the planner would otherwise scan this index for every claim).
OPEN_HOLD = "state = 'pending' AND timeout_seconds IS NOT NULL"


class Transfer(Base):
    """An immutable movement of credits; only a hold's `state` changes, once."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount >= 0 AND shortfall >= 0 AND amount + shortfall > 0", name="amount"),
        CheckConstraint("debit_account_id <> credit_account_id", name="accounts_differ"),
        Index(
            "ix_ledger_transfers_open_holds",
            "expires_at",
            postgresql_where=text(OPEN_HOLD),
            sqlite_where=text(OPEN_HOLD),
        ),
        Index(
            "ix_ledger_transfers_pending_id",
            "pending_id",
            postgresql_where=text("pending_id IS NOT NULL"),
            sqlite_where=text("pending_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid_pk]
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[TransferKind] = mapped_column(_enum(TransferKind, 16))
    phase: Mapped[TransferPhase] = mapped_column(_enum(TransferPhase, 16))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    # the part of a balancing debit (a clawback) the user no longer had: recorded, not taken
    shortfall: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    state: Mapped[HoldState | None] = mapped_column(_enum(HoldState, 16))
    timeout_seconds: Mapped[int | None]
    expires_at: Mapped[datetime | None]
    reference: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
