"""consents: an append-only history; tasks: the providers a run skipped and why

Revision ID: 0023_consent_records
Revises: 0012_one_head
Create Date: 2026-12-05 12:00:00.000000

A consent row used to be changed in place on withdrawal. Each grant and each withdrawal
is now its own row (kind, scope, the policy version shown, when, source, evidence), and
what stands is derived from the history. Existing rows become a grant, plus a withdrawal
when they had one.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveai.models.base

revision: str = "0023_consent_records"
down_revision: str | Sequence[str] | None = "0012_one_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIGRATED = {"note": "recorded before consent histories (revision 0023)"}


def _drop(indexes: Sequence[str]) -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        for name in indexes:
            batch_op.drop_index(name)
    op.drop_table("consents")


def upgrade() -> None:
    old = sa.table(
        "consents",
        sa.column("user_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("policy_version", sa.String()),
        sa.column("granted_at", liveai.models.base.UTCDateTime()),
        sa.column("withdrawn_at", liveai.models.base.UTCDateTime()),
    )
    rows = [dict(r._mapping) for r in op.get_bind().execute(sa.select(old))]
    _drop(["ix_consents_policy_version", "ix_consents_user_id"])
    table = op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=True),
        sa.Column("at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["policy_versions.version"],
            name=op.f("fk_consents_policy_version_policy_versions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_consents_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_consents_policy_version"), ["policy_version"], unique=False
        )
    assert table is not None
    op.bulk_insert(table, [step for row in rows for step in _history(row)])
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skipped", sa.JSON(), nullable=True))


def _history(row: dict[str, object]) -> list[dict[str, object]]:
    common = {
        "user_id": row["user_id"],
        "kind": row["kind"],
        "scope": None,
        "policy_version": row["policy_version"],
        "source": "in-app",
        "evidence": MIGRATED,
        "actor": "migration",
    }
    steps = [{"action": "granted", "at": row["granted_at"], **common}]
    if row["withdrawn_at"] is not None:
        steps.append({"action": "withdrawn", "at": row["withdrawn_at"], **common})
    return [{**step, "recorded_at": step["at"]} for step in steps]


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("skipped")
    new = sa.table(
        "consents",
        sa.column("user_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("action", sa.String()),
        sa.column("policy_version", sa.String()),
        sa.column("at", liveai.models.base.UTCDateTime()),
    )
    granted = sa.select(new.c.user_id, new.c.kind, new.c.policy_version, new.c.at).where(
        new.c.action == "granted", new.c.policy_version.is_not(None)
    )
    kept = [dict(r._mapping) for r in op.get_bind().execute(granted)]
    _drop(["ix_consents_policy_version", "ix_consents_user_id"])
    table = op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("granted_at", liveai.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", liveai.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["policy_versions.version"],
            name=op.f("fk_consents_policy_version_policy_versions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_consents_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_consents_policy_version"), ["policy_version"], unique=False
        )
    assert table is not None
    op.bulk_insert(
        table,
        [
            {
                "id": uuid.uuid4(),
                "user_id": row["user_id"],
                "kind": row["kind"],
                "policy_version": row["policy_version"],
                "granted_at": row["at"],
                "withdrawn_at": None,
            }
            for row in kept
        ],
    )
