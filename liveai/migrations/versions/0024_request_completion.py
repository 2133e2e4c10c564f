"""requests: completion day and lateness, manual follow-up steps

Revision ID: 0024_request_completion
Revises: 0012_one_head
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveai.models.base

revision: str = "0024_request_completion"
down_revision: str | Sequence[str] | None = "0012_one_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("on_time", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("completion_note", sa.Text(), nullable=True))
    op.create_table(
        "request_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("opened_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", liveai.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_requests.id"],
            name=op.f("fk_request_steps_request_id_privacy_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_steps")),
        sa.UniqueConstraint("request_id", "key", name="uq_request_steps_request_id"),
    )
    with op.batch_alter_table("request_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_steps_request_id"), ["request_id"])


def downgrade() -> None:
    op.drop_table("request_steps")
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_column("completion_note")
        batch_op.drop_column("on_time")
        batch_op.drop_column("completed_on")
