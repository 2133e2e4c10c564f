"""policy versions: date label, effective date, the published HTML and text

Revision ID: 0022_policy_publication
Revises: 0012_one_head
Create Date: 2026-12-05 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_policy_publication"
down_revision: str | Sequence[str] | None = "0012_one_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("effective_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("text_html", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("text_txt", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("text_txt")
        batch_op.drop_column("text_html")
        batch_op.drop_column("effective_on")
        batch_op.drop_column("label")
