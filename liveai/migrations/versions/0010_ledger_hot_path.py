"""ledger: only the indexes its queries use

Revision ID: 0010_ledger_hot_path
Revises: 0002_ledger
Create Date: 2026-11-29 04:30:00.000000

Every transfer paid for six index entries. No query looks transfers up by reference; the
resolution index needs only the transfers that resolve a hold; the expiry sweeps need only
the holds still open, and an index the claim of a hold could also use made the planner scan
it for every post or void.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_ledger_hot_path"
down_revision: str | Sequence[str] | None = "0002_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_HOLD = "state = 'pending' AND timeout_seconds IS NOT NULL"
RESOLVES = "pending_id IS NOT NULL"


def _partial(where: str) -> dict[str, sa.TextClause]:
    return {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}


def upgrade() -> None:
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transfers_reference")
        batch_op.drop_index("ix_ledger_transfers_state_expires_at")
        batch_op.drop_index("ix_ledger_transfers_pending_id")
        batch_op.create_index(
            "ix_ledger_transfers_open_holds", ["expires_at"], unique=False, **_partial(OPEN_HOLD)
        )
        batch_op.create_index(
            "ix_ledger_transfers_pending_id", ["pending_id"], unique=False, **_partial(RESOLVES)
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transfers_pending_id")
        batch_op.drop_index("ix_ledger_transfers_open_holds")
        batch_op.create_index("ix_ledger_transfers_pending_id", ["pending_id"], unique=False)
        batch_op.create_index(
            "ix_ledger_transfers_state_expires_at", ["state", "expires_at"], unique=False
        )
        batch_op.create_index("ix_ledger_transfers_reference", ["reference"], unique=False)
