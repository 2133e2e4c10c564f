from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai import ledger
from liveai.errors import Conflict, InsufficientCredits, InvalidInput, NotFound
from liveai.models import AuditEvent, HoldState, LedgerAccount, Transfer
from tests.ledger.helpers import assert_invariants, clock, new_user


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Transfer)) or 0,
        session.scalar(select(func.count()).select_from(LedgerAccount)) or 0,
        session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
    )


def test_grant_consume_and_balance(session: Session) -> None:
    user = new_user(session)
    assert ledger.balance(session, user) == ledger.Balance(0, 0, 0)
    granted = ledger.grant(session, user, 10, key="g1", reason="welcome", actor="cli:ops")
    assert (granted.kind, granted.amount, granted.actor) == (
        ledger.TransferKind.GRANT,
        10,
        "cli:ops",
    )
    ledger.consume(session, user, 4, key="c1", reference="task-1", reason="generation")
    assert ledger.balance(session, user) == ledger.Balance(available=6, pending=0, posted=6)
    assert_invariants(session)


def test_replay_returns_the_same_transfer_and_changes_nothing(session: Session) -> None:
    user = new_user(session)
    first = ledger.grant(session, user, 10, key="g1", reason="welcome")
    before = _counts(session)
    again = ledger.grant(session, user, 10, key="g1", reason="welcome")
    assert again.id == first.id
    assert _counts(session) == before
    assert ledger.balance(session, user).available == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 11}, "amount"),
        ({"reason": "other"}, "reason"),
        ({"reference": "r"}, "reference"),
    ],
)
def test_same_key_different_content_names_the_field(
    session: Session, change: dict[str, object], field: str
) -> None:
    user = new_user(session)
    ledger.grant(session, user, 10, key="g1", reason="welcome")
    args: dict[str, object] = {"amount": 10, "reason": "welcome", "reference": None} | change
    with pytest.raises(Conflict, match=f"{field} differs"):
        ledger.grant(session, user, key="g1", **args)  # type: ignore[arg-type]


def test_same_key_for_another_kind_or_user_is_a_conflict(session: Session) -> None:
    user, other = new_user(session), new_user(session)
    ledger.grant(session, user, 10, key="k", reason="r")
    with pytest.raises(Conflict, match="user_id differs"):
        ledger.grant(session, other, 10, key="k", reason="r")
    with pytest.raises(Conflict, match="kind differs"):
        ledger.consume(session, user, 10, key="k", reference=None, reason="r")  # type: ignore[arg-type]


def test_overdraft_is_refused_and_writes_nothing(session: Session) -> None:
    user = new_user(session)
    ledger.grant(session, user, 5, key="g", reason="r")
    before = _counts(session)
    with pytest.raises(InsufficientCredits) as caught:
        ledger.consume(session, user, 6, key="c", reference="t", reason="gen")
    assert caught.value.exit_code == 5
    with pytest.raises(InsufficientCredits):
        ledger.hold(
            session, user, 6, key="h", reference="t", timeout=timedelta(minutes=5), reason="gen"
        )
    assert _counts(session) == before
    assert ledger.balance(session, user).available == 5
    assert_invariants(session)


@pytest.mark.parametrize("amount", [0, -3])
def test_bad_amounts_are_refused(session: Session, amount: int) -> None:
    user = new_user(session)
    before = _counts(session)
    with pytest.raises(InvalidInput, match="positive"):
        ledger.grant(session, user, amount, key="g", reason="r")
    with pytest.raises(InvalidInput):
        ledger.consume(session, user, amount, key="c", reference="t", reason="r")
    with pytest.raises(InvalidInput):
        ledger.hold(
            session, user, amount, key="h", reference="t", timeout=timedelta(minutes=1), reason="r"
        )
    assert _counts(session) == before


def test_unknown_user_is_not_found(session: Session) -> None:
    ghost = uuid.uuid4()
    before = _counts(session)
    with pytest.raises(NotFound, match="no user"):
        ledger.grant(session, ghost, 5, key="g", reason="r")
    with pytest.raises(NotFound):
        ledger.balance(session, ghost)
    assert _counts(session) == before


def test_hold_post_for_less_releases_the_rest(session: Session) -> None:
    user = new_user(session)
    ledger.grant(session, user, 10, key="g", reason="r")
    held = ledger.hold(
        session,
        user,
        8,
        key="h",
        reference="task",
        timeout=timedelta(minutes=5),
        reason="gen",
        clock=clock(),
    )
    assert held.state is HoldState.PENDING
    assert ledger.balance(session, user, clock=clock()) == ledger.Balance(2, 8, 10)
    posted = ledger.post_hold(session, "h", key="h:post", amount=6, clock=clock())
    assert (posted.amount, posted.pending_id) == (6, held.id)
    assert held.state is HoldState.POSTED  # type: ignore[comparison-overlap]  # post_hold moves it
    assert ledger.balance(session, user) == ledger.Balance(available=4, pending=0, posted=4)
    assert ledger.post_hold(session, "h", key="h:post", amount=6, clock=clock()).id == posted.id
    with pytest.raises(Conflict, match="already posted"):
        ledger.post_hold(session, "h", key="h:post2", clock=clock())
    with pytest.raises(Conflict, match="already posted"):
        ledger.void_hold(session, "h", key="h:void", reason="failed", clock=clock())
    assert_invariants(session)


def test_post_full_by_default_and_more_than_held_is_refused(session: Session) -> None:
    user = new_user(session)
    ledger.grant(session, user, 10, key="g", reason="r")
    ledger.hold(
        session,
        user,
        3,
        key="h",
        reference="t",
        timeout=timedelta(minutes=5),
        reason="gen",
        clock=clock(),
    )
    with pytest.raises(InvalidInput, match="cannot post 4"):
        ledger.post_hold(session, "h", key="p", amount=4, clock=clock())
    assert ledger.post_hold(session, "h", key="p", clock=clock()).amount == 3
    assert ledger.balance(session, user).available == 7


def test_void_releases_and_cannot_be_posted_after(session: Session) -> None:
    user = new_user(session)
    ledger.grant(session, user, 10, key="g", reason="r")
    ledger.hold(
        session,
        user,
        10,
        key="h",
        reference="t",
        timeout=timedelta(minutes=5),
        reason="gen",
        clock=clock(),
    )
    ledger.void_hold(session, "h", key="v", reason="provider failed", clock=clock())
    assert ledger.balance(session, user) == ledger.Balance(available=10, pending=0, posted=10)
    with pytest.raises(Conflict, match="already voided"):
        ledger.post_hold(session, "h", key="p", clock=clock())
    assert_invariants(session)


def test_unknown_hold_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="no hold 'nope'"):
        ledger.post_hold(session, "nope", key="p")
    user = new_user(session)
    ledger.grant(session, user, 1, key="g", reason="r")
    with pytest.raises(NotFound):
        ledger.void_hold(session, "g", key="v", reason="not a hold")


def test_expired_hold_cannot_be_posted_and_is_released(session: Session) -> None:
    user = new_user(session)
    at = clock()
    ledger.grant(session, user, 10, key="g", reason="r", clock=at)
    ledger.hold(
        session,
        user,
        7,
        key="h",
        reference="t",
        timeout=timedelta(minutes=5),
        reason="gen",
        clock=at,
    )
    at.advance(timedelta(minutes=5))
    assert ledger.balance(session, user, clock=at).available == 10
    with pytest.raises(Conflict, match="expired"):
        ledger.post_hold(session, "h", key="p", clock=at)
    # the overdue hold is released on demand, before expire_holds runs
    ledger.consume(session, user, 9, key="c", reference="t2", reason="gen", clock=at)
    assert ledger.get_hold(session, "h").state is HoldState.EXPIRED
    assert ledger.expire_holds(session, clock=at) == 0
    assert_invariants(session)


def test_expire_holds_counts_and_audits(session: Session) -> None:
    user = new_user(session)
    at = clock()
    ledger.grant(session, user, 10, key="g", reason="r", clock=at)
    for n in range(3):
        ledger.hold(
            session,
            user,
            2,
            key=f"h{n}",
            reference="t",
            timeout=timedelta(minutes=n + 1),
            reason="gen",
            clock=at,
        )
    at.advance(timedelta(minutes=2))
    assert ledger.expire_holds(session, clock=at) == 2
    assert [h.key for h in ledger.list_holds(session, user)] == ["h2"]
    assert ledger.balance(session, user, clock=at) == ledger.Balance(
        available=8, pending=2, posted=10
    )
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("credits.holds_expired") == 1
    assert_invariants(session)


def test_purchase_is_keyed_by_transaction_and_audited(session: Session) -> None:
    user = new_user(session)
    bought = ledger.credit_purchase(
        session, user, 60, transaction_id="2000001", product_id="credits.60"
    )
    assert (bought.key, bought.kind, bought.reference) == (
        "appstore:2000001",
        ledger.TransferKind.PURCHASE,
        "2000001",
    )
    again = ledger.credit_purchase(
        session, user, 60, transaction_id="2000001", product_id="credits.60"
    )
    assert again.id == bought.id
    with pytest.raises(Conflict, match="amount differs"):
        ledger.credit_purchase(session, user, 70, transaction_id="2000001", product_id="credits.60")
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("credits.purchased") == 1


def test_clawback_takes_what_is_available_and_records_the_shortfall(session: Session) -> None:
    user = new_user(session)
    ledger.credit_purchase(session, user, 60, transaction_id="t1", product_id="p")
    ledger.consume(session, user, 45, key="c", reference="task", reason="gen")
    taken = ledger.clawback(
        session, user, 60, key="refund:t1", reference="t1", reason="app store refund"
    )
    assert (taken.amount, taken.shortfall) == (15, 45)
    assert ledger.balance(session, user) == ledger.Balance(0, 0, 0)
    assert (
        ledger.clawback(
            session, user, 60, key="refund:t1", reference="t1", reason="app store refund"
        ).id
        == taken.id
    )
    empty = ledger.clawback(
        session, user, 5, key="refund:t2", reference="t2", reason="app store refund"
    )
    assert (empty.amount, empty.shortfall) == (0, 5)
    report = ledger.reconcile(session)
    assert report.ok and report.shortfall == 50
    assert_invariants(session)


def test_refund_and_correction(session: Session) -> None:
    user = new_user(session)
    ledger.grant(session, user, 10, key="g", reason="r")
    ledger.consume(session, user, 10, key="c", reference="task", reason="gen")
    ledger.refund(
        session, user, 10, key="task:refund", reference="task", reason="failed", actor="cli:ops"
    )
    ledger.correction(session, user, -4, key="fix1", reason="double grant", actor="cli:ops")
    assert ledger.balance(session, user).available == 6
    with pytest.raises(InsufficientCredits):
        ledger.correction(session, user, -7, key="fix2", reason="too much")
    with pytest.raises(Conflict, match="direction differs"):
        ledger.correction(session, user, 4, key="fix1", reason="double grant")
    with pytest.raises(InvalidInput):
        ledger.correction(session, user, 0, key="fix3", reason="nothing")
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("credits.refunded") == 1
    assert actions.count("credits.corrected") == 1
    assert_invariants(session)


def test_history_newest_first_with_deltas(session: Session) -> None:
    user = new_user(session)
    at = clock()
    ledger.grant(session, user, 10, key="g", reason="r", clock=at)
    at.advance(timedelta(seconds=1))
    ledger.consume(session, user, 3, key="c", reference="t", reason="gen", clock=at)
    rows = ledger.history(session, user, limit=5)
    assert [r.key for r in rows] == ["c", "g"]
    assert [ledger.user_delta(session, r) for r in rows] == [-3, 10]


def test_reconcile_finds_a_tampered_balance(session: Session) -> None:
    user = new_user(session)
    ledger.grant(session, user, 10, key="g", reason="r")
    account = session.scalar(select(LedgerAccount).where(LedgerAccount.user_id == user))
    assert account is not None
    account.credits_posted = 11
    session.flush()
    report = ledger.reconcile(session)
    assert not report.ok
    assert [(m.field, m.stored, m.computed) for m in report.mismatches] == [
        ("credits_posted", 11, 10)
    ]


def test_debit_of_a_user_without_an_account_creates_nothing(session: Session) -> None:
    user = new_user(session)
    before = _counts(session)
    with pytest.raises(InsufficientCredits):
        ledger.consume(session, user, 1, key="c", reference="t", reason="gen")
    assert _counts(session) == before
    with pytest.raises(NotFound):
        ledger.consume(session, uuid.uuid4(), 1, key="c", reference="t", reason="gen")
