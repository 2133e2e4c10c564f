"""apple_credentials: encrypted Sign in with Apple refresh tokens

Revision ID: 0003_identity
Revises: 0001_foundation
Create Date: 2026-11-29 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveai.models.base

revision: str = "0003_identity"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apple_credentials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_apple_credentials_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apple_credentials")),
        sa.UniqueConstraint("user_id", "client_id", name="uq_apple_credentials_user_id_client_id"),
    )
    with op.batch_alter_table("apple_credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apple_credentials_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("apple_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apple_credentials_user_id"))
    op.drop_table("apple_credentials")
