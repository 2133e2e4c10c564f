"""Helpers for the ledger tests: users, and the invariants every ledger state must keep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai import ledger
from liveai.clock import FixedClock
from liveai.models import LedgerAccount
from liveai.users import create_user

ISS = "https://auth.example/oidc"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def clock() -> FixedClock:
    return FixedClock(T0)


def new_user(session: Session, subject: str | None = None) -> uuid.UUID:
    return create_user(session, issuer=ISS, subject=subject or uuid.uuid4().hex).id


def assert_invariants(session: Session) -> None:
    """Zero sum over all accounts, no user account negative, reconcile clean."""
    a = LedgerAccount
    posted, pending = session.execute(
        select(
            func.coalesce(func.sum(a.credits_posted - a.debits_posted), 0),
            func.coalesce(func.sum(a.credits_pending - a.debits_pending), 0),
        )
    ).one()
    assert (posted, pending) == (0, 0)
    worst = session.scalar(
        select(func.min(a.credits_posted - a.debits_posted - a.debits_pending)).where(a.guarded)
    )
    assert worst is None or worst >= 0
    report = ledger.reconcile(session)
    assert report.ok, report.to_dict()
