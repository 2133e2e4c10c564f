"""privacy requests register and erasure runs

Revision ID: 0007_privacy_requests
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveai.models.base

revision: str = "0007_privacy_requests"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("export", "deletion", "correction", "guardian", "objection")
STATES = ("received", "verified", "in_progress", "extended", "completed", "refused")


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="requestkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*STATES, name="requeststate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("received_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_basis", sa.String(length=40), nullable=False),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("calendar_version", sa.String(length=20), nullable=False),
        sa.Column("gdpr_due_on", sa.Date(), nullable=True),
        sa.Column("verification", sa.String(length=16), nullable=True),
        sa.Column("verification_note", sa.Text(), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("completed_at", liveai.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_privacy_requests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_requests_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_privacy_requests_state"), ["state"])
        batch_op.create_index(batch_op.f("ix_privacy_requests_due_on"), ["due_on"])

    op.create_table(
        "erasure_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("pseudonym_id", sa.Uuid(), nullable=True),
        sa.Column("steps_done", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("started_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", liveai.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_runs")),
    )
    with op.batch_alter_table("erasure_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_runs_user_id"), ["user_id"])


def downgrade() -> None:
    op.drop_table("erasure_runs")
    op.drop_table("privacy_requests")
