"""The plans PostgreSQL picks for the ledger's hot statements, on a fresh (unanalysed) table."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from liveai import ledger
from liveai.ledger import core, pg
from liveai.models import TransferPhase
from tests.ledger.helpers import new_user

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    with Session(engine) as session, session.begin():
        user = new_user(session)
        ledger.grant(session, user, 100, key="g", reason="seed")
        for n in range(5):
            ledger.hold(
                session, user, 1, key=f"h{n}", reference="t", timeout=timedelta(minutes=5),
                reason="generation",
            )  # fmt: skip
        ledger.post_hold(session, "h0", key="h0:post")
    yield engine
    engine.dispose()


def _positional(sql: str) -> tuple[str, list[str]]:
    """The statement with $1, $2, ... for its named parameters, and their names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), names


def _index_scans(plan: list[str]) -> set[str]:
    return {m.group(1) for line in plan if (m := re.search(r"Index Scan using (\w+)", line))}


@pytest.mark.parametrize("phase", [TransferPhase.POST, TransferPhase.VOID])
def test_claiming_a_hold_goes_through_its_key(engine: Engine, phase: TransferPhase) -> None:
    sql, names = _positional(pg.resolve_sql(phase, partial=False))
    values = {
        "pending_key": "h1",
        "now": datetime.now(UTC).isoformat(),
        "reason": "r",
        "id": str(uuid.uuid4()),
        "key": "k",
        "actor": "system",
    }
    with engine.connect() as conn:
        conn.execute(text("SET plan_cache_mode = force_generic_plan"))
        conn.exec_driver_sql(f"PREPARE claim AS {sql}")
        args = ", ".join(f"'{values[name]}'" for name in names)
        plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN EXECUTE claim({args})")]
    assert "uq_ledger_transfers_key" in _index_scans(plan)
    assert "ix_ledger_transfers_open_holds" not in "\n".join(plan)


def test_the_expiry_sweep_reads_only_open_holds(engine: Engine) -> None:
    query = core.expire_query(datetime.now(UTC))
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}")]
    assert _index_scans(plan) == {"ix_ledger_transfers_open_holds"}
