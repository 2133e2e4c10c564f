"""The hot paths in one statement each on PostgreSQL (data-modifying CTEs).

A consume or a hold is a guarded UPDATE of the user's balance row, an UPDATE of a system
shard and the transfer INSERT; a post or void also claims the hold. PostgreSQL runs them
as one statement (one round trip, one snapshot) that writes either everything or, when
the guard or the claim refuses, nothing. Row locks keep the ledger's order: the hold's
row, then the user's account, then the system shard (each later UPDATE waits for the
earlier one's row: a join, or an EXISTS evaluated before the scan).

Everything unusual (no account yet, a new shard, a refused guard, a replayed key) falls
back to the general path in `core` and `holds`, which works on every backend. The SQL is
text built once per kind of call (what the call site fixes written in, the rest named
parameters): psycopg prepares it on the server after a few runs, and no SQLAlchemy
statement is built or compiled per call.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.orm.util import identity_key

from liveai.ledger.accounts import SystemAccount
from liveai.models import HoldState, Transfer, TransferKind, TransferPhase

_COLUMNS = (
    "id, key, kind, phase, user_id, debit_account_id, credit_account_id, amount, shortfall,"
    " pending_id, state, timeout_seconds, expires_at, reference, reason, actor, created_at"
)
_MANAGER = manager_of_class(Transfer)
_AVAILABLE = "credits_posted - debits_posted - debits_pending"


def enabled(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def run(session: Session, sql: str, params: Mapping[str, Any]) -> Any:
    """One row of a static statement, on the session's connection and transaction."""
    if session.autoflush:  # as an ORM statement would: pending objects go first
        session.flush()
    return fetch_one(session.connection().connection, sql, params)


def fetch_one(dbapi_connection: Any, sql: str, params: Mapping[str, Any]) -> Any:
    """One row of a static statement, run straight on the driver's connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchone()
    finally:
        cursor.close()


@cache
def submit_sql(
    kind: TransferKind,
    phase: TransferPhase,
    direction: str,
    system: SystemAccount,
    autocommit: bool = False,
) -> str:
    """Move the user's and the system shard's balances and insert the transfer.

    What the call site fixes (kind, phase, state, system account: enum values) is part of
    the text, one prepared statement per combination; the rest are parameters. An
    ``autocommit`` statement (its own transaction) writes everything or nothing: the user's
    row is not touched without the shard, and a taken key raises instead of being skipped.
    """
    side = "pending" if phase is TransferPhase.PENDING else "posted"
    user_col, system_col = f"credits_{side}", f"debits_{side}"
    debit, credit, guard = "s.id", "u.id", ""
    if direction == "debit":  # taking credits: guarded, never below zero
        user_col, system_col = system_col, user_col
        debit, credit = credit, debit
        guard = f" AND {_AVAILABLE} >= %(amount)s"
    if autocommit:
        guard += (
            " AND EXISTS (SELECT FROM ledger_accounts"
            f" WHERE code = '{system.value}' AND shard = %(shard)s)"
        )
    hold = phase is TransferPhase.PENDING
    state = f"'{HoldState.PENDING.value}'" if hold else "NULL"
    timeout = "%(timeout_seconds)s::integer" if hold else "NULL"
    expires = "%(expires_at)s::timestamptz" if hold else "NULL"
    return f"""\
WITH u AS (
    UPDATE ledger_accounts SET {user_col} = {user_col} + %(amount)s
    WHERE user_id = %(user_id)s{guard}
    RETURNING id
), s AS (
    UPDATE ledger_accounts SET {system_col} = {system_col} + %(amount)s
    WHERE code = '{system.value}' AND shard = %(shard)s AND EXISTS (SELECT FROM u)
    RETURNING id
), t AS (
    INSERT INTO ledger_transfers ({_COLUMNS})
    SELECT %(id)s::uuid, %(key)s::varchar, '{kind.value}', '{phase.value}',
        %(user_id)s::uuid, {debit}, {credit}, %(amount)s::bigint, 0, NULL, {state},
        {timeout}, {expires}, %(reference)s::varchar, %(reason)s::varchar,
        %(actor)s::varchar, %(created_at)s::timestamptz
    FROM u, s{_on_conflict(autocommit)}
    RETURNING id
)
SELECT (SELECT id FROM u), (SELECT id FROM s), (SELECT id FROM t)"""


def _on_conflict(autocommit: bool) -> str:
    return "" if autocommit else "\n    ON CONFLICT (key) DO NOTHING"


@cache
def resolve_sql(phase: TransferPhase, partial: bool, autocommit: bool = False) -> str:
    """Claim a hold (pending, not expired, holding enough), release it on both accounts,
    post what is taken, and insert the resolving transfer; no row if the claim fails.
    An ``autocommit`` statement raises on a taken key instead of skipping the insert."""
    state = HoldState.POSTED if phase is TransferPhase.POST else HoldState.VOIDED
    amount = "%(amount)s::bigint" if partial else "h.amount"
    posted = amount if phase is TransferPhase.POST else "0"
    reason = "h.reason" if phase is TransferPhase.POST else "%(reason)s::varchar"
    enough = " AND amount >= %(amount)s" if partial else ""
    return f"""\
WITH h AS (
    UPDATE ledger_transfers SET state = '{state.value}'
    WHERE key = %(pending_key)s AND phase = 'pending' AND state = 'pending'
        AND expires_at > %(now)s{enough}
    RETURNING id, kind, user_id, debit_account_id, credit_account_id, amount, reference, reason
), u AS (
    UPDATE ledger_accounts a SET debits_pending = a.debits_pending - h.amount,
        debits_posted = a.debits_posted + {posted}
    FROM h WHERE a.id = h.debit_account_id
    RETURNING a.id
), s AS (
    UPDATE ledger_accounts a SET credits_pending = a.credits_pending - h.amount,
        credits_posted = a.credits_posted + {posted}
    FROM h WHERE a.id = h.credit_account_id AND EXISTS (SELECT FROM u)
    RETURNING a.id
), t AS (
    INSERT INTO ledger_transfers ({_COLUMNS})
    SELECT %(id)s::uuid, %(key)s::varchar, h.kind, '{phase.value}', h.user_id,
        h.debit_account_id, h.credit_account_id, {amount}, 0, h.id, NULL, NULL, NULL,
        h.reference, {reason}, %(actor)s::varchar, %(now)s::timestamptz
    FROM h, s{_on_conflict(autocommit)}
    RETURNING id
)
SELECT h.id, h.kind, h.user_id, h.debit_account_id, h.credit_account_id, h.amount,
    h.reference, h.reason, (SELECT id FROM s), (SELECT id FROM t)
FROM h"""


def attach(session: Session, values: Mapping[str, Any]) -> Transfer:
    """The just-inserted row as a persistent Transfer in the session, as a query would
    return it, without reading it back."""
    transfer = detached(values)
    session.add(transfer)
    return transfer


def detached(values: Mapping[str, Any]) -> Transfer:
    """The just-inserted row as a Transfer loaded from it (in no session)."""
    if not _MANAGER.mapper.configured:  # as constructing or querying one would
        configure_mappers()
    transfer = _MANAGER.new_instance()
    loaded = transfer.__dict__  # filled in as the ORM fills a loaded row: no change events
    loaded.update(values)
    loaded["created_at"] = values["created_at"].astimezone(UTC)  # as UTCDateTime reads it
    if values["expires_at"] is not None:
        loaded["expires_at"] = values["expires_at"].astimezone(UTC)
    make_transient_to_detached(transfer)
    return transfer


def mark_resolved(session: Session, hold_id: uuid.UUID, state: HoldState) -> None:
    """Keep a hold the session already holds in step with its claimed row."""
    held = session.identity_map.get(identity_key(Transfer, hold_id))
    if held is not None:
        set_committed_value(held, "state", state)


def now_param(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass a timezone-aware one")
    return now
