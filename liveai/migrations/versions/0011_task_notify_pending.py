"""tasks: completion notices still owed

Revision ID: 0011_task_notify_pending
Revises: 0004_generation
Create Date: 2026-12-04 22:40:00.000000

A task settles in one transaction and its completion push goes out after the commit; a
crash in between lost the push. The settle now marks the notice as owed, the runner clears
the mark once it has told everyone, and a starting worker sends whatever is still owed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_task_notify_pending"
down_revision: str | Sequence[str] | None = "0004_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWED = "notify_pending"


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            "ix_tasks_notify_pending",
            ["finished_at"],
            unique=False,
            postgresql_where=sa.text(OWED),
            sqlite_where=sa.text(OWED),
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_notify_pending")
        batch_op.drop_column("notify_pending")
