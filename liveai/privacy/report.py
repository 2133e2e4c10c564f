"""The deadline report for the DPO and auditors: every request received in a period with
its timeline on the working-day clock, how the register kept its deadlines, and what falls
due next. Requests are named by id only: the report holds no personal data.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.errors import InvalidInput
from liveai.models import AuditEvent, PrivacyRequest, RequestKind, RequestState, RequestStep
from liveai.privacy.calendar import (
    deadline_zone,
    nth_working_day_after,
    receipt_date,
    working_days_between,
)
from liveai.privacy.requests import OPEN_STATES

DUE_SOON_WORKING_DAYS = 15
DEFAULT_PERIOD_DAYS = 90
TIMELINE_ACTIONS = (
    "request.verified",
    "request.extended",
    "request.awaiting_manual",
    "request.refused",
)


@dataclass(frozen=True)
class Timeline:
    """One request on the working-day clock (days in the deadline zone)."""

    id: str
    kind: str
    region: str
    channel: str
    state: str
    received_on: date
    verified_on: date | None
    extended_on: date | None
    awaiting_manual_on: date | None
    refused_on: date | None
    due_on: date
    due_basis: str
    completed_on: date | None
    on_time: bool | None
    working_days_to_complete: int | None
    working_days_late: int | None
    working_days_left: int | None
    extension_reason: str | None
    refusal_reason: str | None
    completion_note: str | None
    open_steps: list[str]


@dataclass(frozen=True)
class KindFigures:
    received: int
    completed: int
    median_working_days: float | None
    worst_working_days: int | None


@dataclass
class Report:
    period_from: date
    period_to: date
    today: date
    zone: str
    requests: list[Timeline]
    on_time_rate: float | None
    per_kind: dict[str, KindFigures]
    due_soon_until: date
    due_soon: list[Timeline]
    open_steps: list[dict[str, str]] = field(default_factory=list)

    @property
    def late(self) -> list[Timeline]:
        return [t for t in self.requests if t.on_time is False]

    @property
    def extensions(self) -> list[Timeline]:
        return [t for t in self.requests if t.extension_reason]

    @property
    def refusals(self) -> list[Timeline]:
        return [t for t in self.requests if t.state == RequestState.REFUSED.value]

    def weekly(self) -> list[tuple[date, dict[str, int]]]:
        """Requests received per week (weeks start on Monday), by kind, gaps included."""
        counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for t in self.requests:
            counts[t.received_on - timedelta(days=t.received_on.weekday())][t.kind] += 1
        start = self.period_from - timedelta(days=self.period_from.weekday())
        weeks = []
        while start <= self.period_to:
            weeks.append((start, dict(counts.get(start, {}))))
            start += timedelta(days=7)
        return weeks

    def as_dict(self) -> dict[str, Any]:
        shown = asdict(self)
        shown["late"] = [asdict(t) for t in self.late]
        shown["extensions"] = [asdict(t) for t in self.extensions]
        shown["refusals"] = [asdict(t) for t in self.refusals]
        shown["weekly"] = [{"week": week, "kinds": kinds} for week, kinds in self.weekly()]
        return shown


def default_period(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_PERIOD_DAYS), today


def build_report(session: Session, period_from: date, period_to: date, today: date) -> Report:
    """The report on requests received from `period_from` to `period_to`, both included."""
    if period_from > period_to:
        raise InvalidInput(f"--from {period_from} is after --to {period_to}")
    received = _requests(session, PrivacyRequest.received_on.between(period_from, period_to))
    open_now = _requests(session, PrivacyRequest.state.in_(OPEN_STATES))
    steps = _open_steps(session, [r.id for r in {*received, *open_now}])
    stamps = _stamps(session, {str(r.id) for r in {*received, *open_now}})
    timelines = [_timeline(r, today, stamps, steps) for r in received]
    due_until, _ = nth_working_day_after(today, DUE_SOON_WORKING_DAYS)
    due_soon = [
        _timeline(r, today, stamps, steps)
        for r in sorted(open_now, key=lambda r: (r.due_on, r.received_at))
        if r.due_on <= due_until
    ]
    completed = [t for t in timelines if t.on_time is not None]
    return Report(
        period_from=period_from,
        period_to=period_to,
        today=today,
        zone=deadline_zone().key,
        requests=timelines,
        on_time_rate=(
            sum(1 for t in completed if t.on_time) / len(completed) if completed else None
        ),
        per_kind=_per_kind(timelines),
        due_soon_until=due_until,
        due_soon=due_soon,
        open_steps=[
            {"request_id": str(s.request_id), "step": s.key, "description": s.description}
            for s in sorted(
                (s for group in steps.values() for s in group), key=lambda s: s.opened_at
            )
        ],
    )


def _requests(session: Session, condition: Any) -> list[PrivacyRequest]:
    query = select(PrivacyRequest).where(condition)
    query = query.order_by(PrivacyRequest.received_at, PrivacyRequest.created_at)
    return list(session.scalars(query))


def _open_steps(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RequestStep]]:
    found: dict[uuid.UUID, list[RequestStep]] = defaultdict(list)
    query = select(RequestStep).where(
        RequestStep.request_id.in_(ids), RequestStep.confirmed_at.is_(None)
    )
    for step in session.scalars(query.order_by(RequestStep.id)):
        found[step.request_id].append(step)
    return found


def _stamps(session: Session, ids: set[str]) -> dict[tuple[str, str], datetime]:
    """(request id, action) -> when it first happened, from the audit log."""
    found: dict[tuple[str, str], datetime] = {}
    query = select(AuditEvent).where(AuditEvent.action.in_(TIMELINE_ACTIONS))
    for event in session.scalars(query.order_by(AuditEvent.id)):
        request_id = str(event.details.get("request_id"))
        if request_id in ids:
            found.setdefault((request_id, event.action), event.at)
    return found


def _timeline(
    request: PrivacyRequest,
    today: date,
    stamps: dict[tuple[str, str], datetime],
    steps: dict[uuid.UUID, list[RequestStep]],
) -> Timeline:
    def day_of(action: str) -> date | None:
        at = stamps.get((str(request.id), action))
        return receipt_date(at) if at else None

    done = request.completed_on
    is_open = request.state in OPEN_STATES
    return Timeline(
        id=str(request.id),
        kind=request.kind.value,
        region=request.region,
        channel=request.channel,
        state=request.state.value,
        received_on=request.received_on,
        verified_on=day_of("request.verified"),
        extended_on=day_of("request.extended"),
        awaiting_manual_on=day_of("request.awaiting_manual"),
        refused_on=day_of("request.refused"),
        due_on=request.due_on,
        due_basis=request.due_basis,
        completed_on=done,
        on_time=request.on_time,
        working_days_to_complete=working_days_between(request.received_on, done) if done else None,
        working_days_late=(
            working_days_between(request.due_on, done) if done and not request.on_time else None
        ),
        working_days_left=working_days_between(today, request.due_on) if is_open else None,
        extension_reason=request.extension_reason,
        refusal_reason=request.refusal_reason,
        completion_note=request.completion_note,
        open_steps=[s.key for s in steps.get(request.id, [])],
    )


def _per_kind(timelines: list[Timeline]) -> dict[str, KindFigures]:
    figures = {}
    for kind in RequestKind:
        mine = [t for t in timelines if t.kind == kind.value]
        days = [t.working_days_to_complete for t in mine if t.working_days_to_complete is not None]
        if mine:
            figures[kind.value] = KindFigures(
                received=len(mine),
                completed=len(days),
                median_working_days=statistics.median(days) if days else None,
                worst_working_days=max(days) if days else None,
            )
    return figures


CSV_COLUMNS = (
    "id",
    "kind",
    "region",
    "channel",
    "state",
    "received_on",
    "verified_on",
    "due_on",
    "due_basis",
    "completed_on",
    "working_days_to_complete",
    "on_time",
    "working_days_late",
    "working_days_left",
    "extension_reason",
    "refusal_reason",
    "completion_note",
    "open_steps",
)
