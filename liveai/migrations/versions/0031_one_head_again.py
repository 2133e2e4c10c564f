"""one head again: this round's revisions joined

Revision ID: 0031_one_head_again
Revises: 0020_keyed_audit_chain, 0022_policy_publication, 0023_consent_records,
    0024_request_completion
Create Date: 2026-12-05 13:15:00.000000

Built in parallel from 0012_one_head; joined so the schema has one head again.
"""

from collections.abc import Sequence

revision: str = "0031_one_head_again"
down_revision: str | Sequence[str] | None = (
    "0020_keyed_audit_chain",
    "0022_policy_publication",
    "0023_consent_records",
    "0024_request_completion",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
