"""keyed audit chain, redactable events; one open erasure run per user

Revision ID: 0020_keyed_audit_chain
Revises: 0012_one_head
Create Date: 2026-12-05 12:00:00.000000

Audit events gain ``salt`` and ``digest``: an event's hash becomes an HMAC under a key
held outside the database, over a digest of whom and what it is about, so erasure can
redact an event and the chain still verifies. Existing events are checked against their
old (unkeyed) chain and, when it is intact, resealed under the key; a broken old chain
stops the upgrade naming the event, since resealing it would launder the tampering.

Erasure runs gain ``identifiers`` (what the final scans look for, dropped on completion)
and a unique index on the user's open run. On PostgreSQL with ``LIVEAI_DB_APP_ROLE`` set
(migrations run as the owner), that role may read and append audit events and redact
them (user id, details, salt), but not change or delete anything else.
"""

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from alembic import op

revision: str = "0020_keyed_audit_chain"
down_revision: str | Sequence[str] | None = "0012_one_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "completed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salt", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
    with op.batch_alter_table("erasure_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identifiers", sa.JSON(), nullable=True))
        batch_op.create_index(
            "uq_erasure_runs_open",
            ["user_id"],
            unique=True,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
    _reseal(op.get_bind())
    _restrict_app_role(op.get_bind())


def _events(bind: sa.Connection) -> list[sa.Row[Any]]:
    from liveai.models import AuditEvent

    table = cast(sa.Table, AuditEvent.__table__)
    columns = [table.c[name] for name in ("id", "at", "actor", "action", "user_id", "details")]
    return list(bind.execute(sa.select(*columns, table.c.hash).order_by(table.c.id)))


def _reseal(bind: sa.Connection) -> None:
    import secrets

    from liveai.audit import GENESIS_HASH, chain_hash, chain_key, content_digest, legacy_hash
    from liveai.models import AuditEvent

    events = _events(bind)
    if not events:
        return
    prev = GENESIS_HASH
    for event in events:
        if legacy_hash(event, prev) != event.hash:
            raise RuntimeError(
                f"the audit chain is broken at event {event.id}: it cannot be resealed under "
                "the key (restore the audit_events table from a backup, then upgrade)"
            )
        prev = event.hash
    key = chain_key()
    table = cast(sa.Table, AuditEvent.__table__)
    prev = GENESIS_HASH
    for event in events:
        salt = secrets.token_hex(16)
        digest = content_digest(salt, event.user_id, event.details)
        hashed = chain_hash(key, event.at, event.actor, event.action, digest, prev)
        bind.execute(
            sa.update(table)
            .where(table.c.id == event.id)
            .values(salt=salt, digest=digest, prev_hash=prev, hash=hashed)
        )
        prev = hashed


def _restrict_app_role(bind: sa.Connection) -> None:
    from liveai.settings import load_settings

    role = load_settings().db_app_role
    if bind.dialect.name != "postgresql" or not role:
        return
    quoted = bind.dialect.identifier_preparer.quote(role)
    bind.exec_driver_sql(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {quoted}")
    bind.exec_driver_sql(f"GRANT SELECT, INSERT ON audit_events TO {quoted}")
    bind.exec_driver_sql(f"GRANT UPDATE (user_id, details, salt) ON audit_events TO {quoted}")
    bind.exec_driver_sql(f"GRANT USAGE ON SEQUENCE audit_events_id_seq TO {quoted}")


def downgrade() -> None:
    from liveai.audit import GENESIS_HASH, legacy_hash
    from liveai.models import AuditEvent

    bind = op.get_bind()
    table = cast(sa.Table, AuditEvent.__table__)
    prev = GENESIS_HASH
    for event in _events(bind):  # back to the unkeyed chain, redacted events as they are
        hashed = legacy_hash(event, prev)
        bind.execute(
            sa.update(table).where(table.c.id == event.id).values(prev_hash=prev, hash=hashed)
        )
        prev = hashed
    with op.batch_alter_table("erasure_runs", schema=None) as batch_op:
        batch_op.drop_index("uq_erasure_runs_open")
        batch_op.drop_column("identifiers")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("digest")
        batch_op.drop_column("salt")
