"""App Store purchases and server notifications

Revision ID: 0005_purchases
Revises: 0001_foundation
Create Date: 2026-11-29 00:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveai.models.base

revision: str = "0005_purchases"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("original_transaction_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "credited",
                "refunded",
                "refund_reversed",
                name="purchasestate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("transfer_key", sa.String(length=200), nullable=False),
        sa.Column("refunds", sa.Integer(), nullable=False),
        sa.Column("purchased_at", liveai.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_purchases_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_purchases_transaction_id")),
    )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchases_original_transaction_id"),
            ["original_transaction_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_purchases_user_id"), ["user_id"], unique=False)

    op.create_table(
        "store_notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notification_uuid", sa.String(length=64), nullable=False),
        sa.Column("notification_type", sa.String(length=64), nullable=False),
        sa.Column("subtype", sa.String(length=64), nullable=True),
        sa.Column("environment", sa.String(length=20), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("signed_at", liveai.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_notifications")),
        sa.UniqueConstraint(
            "notification_uuid", name=op.f("uq_store_notifications_notification_uuid")
        ),
    )
    with op.batch_alter_table("store_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_store_notifications_notification_type"),
            ["notification_type"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_store_notifications_transaction_id"), ["transaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("store_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_notifications_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_store_notifications_notification_type"))
    op.drop_table("store_notifications")
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchases_user_id"))
        batch_op.drop_index(batch_op.f("ix_purchases_original_transaction_id"))
    op.drop_table("purchases")
