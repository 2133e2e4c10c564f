"""Recompute every balance from the transfers and compare with the stored balances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from liveai.ledger.accounts import ACCOUNTS
from liveai.models import HoldState, Transfer, TransferPhase

BALANCES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
_RESOLVES = {
    HoldState.POSTED: TransferPhase.POST,
    HoldState.VOIDED: TransferPhase.VOID,
    HoldState.EXPIRED: TransferPhase.EXPIRE,
}


@dataclass(frozen=True)
class Mismatch:
    account: str
    field: str
    stored: int
    computed: int


@dataclass(frozen=True)
class ReconcileReport:
    accounts: int
    transfers: int
    mismatches: list[Mismatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    shortfall: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "accounts": self.accounts,
            "transfers": self.transfers,
            "mismatches": [vars(m) for m in self.mismatches],
            "problems": self.problems,
            "clawback_shortfall": self.shortfall,
        }


def _legs() -> Any:
    """One row per side of each transfer, with its effect on that side's four balances."""
    t = Transfer.__table__.c
    posted = t.phase.in_([TransferPhase.SINGLE.value, TransferPhase.POST.value])
    live = (t.phase == TransferPhase.PENDING.value) & (t.state == HoldState.PENDING.value)
    zero = literal(0)

    def side(account: Any, prefix: str) -> Any:
        other = "credits" if prefix == "debits" else "debits"
        return select(
            account.label("account_id"),
            func.coalesce(func.sum(t.amount).filter(live), zero).label(f"{prefix}_pending"),
            func.coalesce(func.sum(t.amount).filter(posted), zero).label(f"{prefix}_posted"),
            zero.label(f"{other}_pending"),
            zero.label(f"{other}_posted"),
        ).group_by(account)

    debit_side = side(t.debit_account_id, "debits")
    credit_side = side(t.credit_account_id, "credits")
    credit_cols = credit_side.subquery().c
    credit_side = select(*(credit_cols[k] for k in ("account_id", *BALANCES)))
    return union_all(debit_side, credit_side).subquery()


def reconcile(session: Session) -> ReconcileReport:
    """Each account's four balances against the sums of its transfers (one statement, so
    one snapshot), the zero-sum and no-overdraft invariants, and hold resolutions."""
    legs = _legs()
    sums = [func.coalesce(func.sum(legs.c[name]), 0).label(name) for name in BALANCES]
    computed = select(legs.c.account_id, *sums).group_by(legs.c.account_id).subquery()
    a = ACCOUNTS.c
    rows = session.execute(
        select(
            a.code,
            a.shard,
            a.guarded,
            *(a[n] for n in BALANCES),
            *(computed.c[n] for n in BALANCES),
        )
        .outerjoin_from(ACCOUNTS, computed, computed.c.account_id == a.id)
        .order_by(a.id)
    ).all()
    mismatches, problems = [], []
    totals = dict.fromkeys(BALANCES, 0)
    for row in rows:
        name = row[0] if row[1] == 0 else f"{row[0]}#{row[1]}"
        stored = [int(v) for v in row[3:7]]
        recomputed = [int(v or 0) for v in row[7:11]]
        for field_name, s, c in zip(BALANCES, stored, recomputed, strict=True):
            totals[field_name] += s
            if s != c:
                mismatches.append(Mismatch(name, field_name, s, c))
        if row[2] and stored[3] - stored[1] - stored[0] < 0:
            problems.append(f"{name} is overdrawn")
    if totals["credits_posted"] != totals["debits_posted"]:
        problems.append("posted credits and debits over all accounts do not sum to zero")
    if totals["credits_pending"] != totals["debits_pending"]:
        problems.append("pending credits and debits over all accounts do not sum to zero")
    problems.extend(_hold_problems(session))
    count, shortfall = session.execute(
        select(func.count(Transfer.id), func.coalesce(func.sum(Transfer.shortfall), 0))
    ).one()
    return ReconcileReport(len(rows), int(count), mismatches, problems, int(shortfall))


def _hold_problems(session: Session) -> list[str]:
    """Each hold is resolved by exactly the transfer its state names, posted for no more."""
    res = aliased(Transfer)
    query = (
        select(Transfer.key, Transfer.state, Transfer.amount, res.phase, res.amount)
        .outerjoin(res, res.pending_id == Transfer.id)
        .where(Transfer.phase == TransferPhase.PENDING)
        .order_by(Transfer.id)
    )
    seen: dict[str, int] = {}
    problems = []
    for key, state_, amount, phase, resolved_amount in session.execute(query):
        state: HoldState | None = state_
        seen[key] = seen.get(key, 0) + (phase is not None)
        expected = _RESOLVES.get(state) if state else None
        if phase is not expected:
            shown = state.value if state else "stateless"
            found = phase.value if phase else "no"
            problems.append(f"hold {key!r} is {shown} but has {found} resolving transfer")
        elif phase is TransferPhase.POST and resolved_amount > amount:
            problems.append(f"hold {key!r} was posted for more than it held")
    problems.extend(f"hold {key!r} is resolved {n} times" for key, n in seen.items() if n > 1)
    return problems
