"""one head: the feature branches joined

Revision ID: 0012_one_head
Revises: 0003_identity, 0005_purchases, 0006_devices, 0007_privacy_requests, 0009_policy,
    0010_ledger_hot_path, 0011_task_notify_pending
Create Date: 2026-12-05 11:40:00.000000

Every later revision descends from this one, so the schema has one head.
"""

from collections.abc import Sequence

revision: str = "0012_one_head"
down_revision: str | Sequence[str] | None = (
    "0003_identity",
    "0005_purchases",
    "0006_devices",
    "0007_privacy_requests",
    "0009_policy",
    "0010_ledger_hot_path",
    "0011_task_notify_pending",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
