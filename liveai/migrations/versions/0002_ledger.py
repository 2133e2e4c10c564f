"""credits ledger: accounts and transfers

Revision ID: 0002_ledger
Revises: 0001_foundation
Create Date: 2026-11-29 00:10:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import liveai.models.base

revision: str = "0002_ledger"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("guarded", sa.Boolean(), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("created_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "NOT guarded OR credits_posted - debits_posted - debits_pending >= 0",
            name=op.f("ck_ledger_accounts_not_overdrawn"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_accounts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", "shard", name="uq_ledger_accounts_code_shard"),
        sa.UniqueConstraint("user_id", name=op.f("uq_ledger_accounts_user_id")),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "purchase",
                "grant",
                "consume",
                "refund",
                "clawback",
                "correction",
                name="transferkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "phase",
            sa.Enum(
                "single",
                "pending",
                "post",
                "void",
                "expire",
                name="transferphase",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("shortfall", sa.BigInteger(), nullable=False),
        sa.Column("pending_id", sa.Uuid(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "posted",
                "voided",
                "expired",
                name="holdstate",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("timeout_seconds", sa.Integer(), nullable=True),
        sa.Column("expires_at", liveai.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount >= 0 AND shortfall >= 0 AND amount + shortfall > 0",
            name=op.f("ck_ledger_transfers_amount"),
        ),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id",
            name=op.f("ck_ledger_transfers_accounts_differ"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_transfers_credit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_transfers_debit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["pending_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_transfers_pending_id_ledger_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_transfers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_transfers_key")),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_transfers_pending_id"), ["pending_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_transfers_reference"), ["reference"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_transfers_state_expires_at", ["state", "expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ledger_transfers_user_id"), ["user_id"], unique=False)
    _create_system_shards()


# Created up front, so that concurrent first transfers do not race to insert them.
SYSTEM_ACCOUNTS = (
    "system:appstore",
    "system:promo",
    "system:consumed",
    "system:clawback",
    "system:corrections",
)
SYSTEM_SHARDS = 16


def _create_system_shards() -> None:
    now = datetime.now(UTC)
    table = sa.table(
        "ledger_accounts",
        *(sa.column(name) for name in ("code", "shard", "guarded")),
        sa.column("created_at", liveai.models.base.UTCDateTime()),
        *(
            sa.column(name)
            for name in ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
        ),
    )
    zero = dict.fromkeys(
        ("debits_pending", "debits_posted", "credits_pending", "credits_posted"), 0
    )
    op.bulk_insert(
        table,
        [
            {"code": code, "shard": shard, "guarded": False, "created_at": now, **zero}
            for code in SYSTEM_ACCOUNTS
            for shard in range(SYSTEM_SHARDS)
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_user_id"))
        batch_op.drop_index("ix_ledger_transfers_state_expires_at")
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_reference"))
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_pending_id"))

    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
