"""The register of data-subject requests: deadlines, verification, state changes.

States: received → verified → in_progress → completed, with refused possible until
the work is done (a reason is required, PIPL art. 50) and extended for GDPR subjects
only, with a reason, within the first month (art. 12(3)). Work that leaves steps to do
by hand waits in awaiting_manual, its deadline still running, until every step is
confirmed. A completed request records the day (in the deadline zone) and whether it
was on time. Every change is an audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import Conflict, InvalidInput, NotFound
from liveai.ids import id_prefix, resolve_id
from liveai.models import PrivacyRequest, RequestKind, RequestState, User, UserStatus
from liveai.moments import utc_text
from liveai.privacy.calendar import (
    Jurisdiction,
    add_one_month,
    deadline_zone,
    due_date,
    receipt_date,
    working_days_between,
)
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.users import get_user

if TYPE_CHECKING:
    from liveai.identity.tokens import Principal

CHANNELS = ("email", "in-app")
JURISDICTIONS = ("cn", "eu")
GDPR_EXTENSION_MONTHS = 2
OPEN_STATES = (
    RequestState.RECEIVED,
    RequestState.VERIFIED,
    RequestState.IN_PROGRESS,
    RequestState.EXTENDED,
    RequestState.AWAITING_MANUAL,
)
TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.RECEIVED: frozenset(
        {RequestState.VERIFIED, RequestState.EXTENDED, RequestState.REFUSED}
    ),
    RequestState.VERIFIED: frozenset(
        {RequestState.IN_PROGRESS, RequestState.EXTENDED, RequestState.REFUSED}
    ),
    RequestState.IN_PROGRESS: frozenset(
        {
            RequestState.COMPLETED,
            RequestState.AWAITING_MANUAL,
            RequestState.EXTENDED,
            RequestState.REFUSED,
        }
    ),
    RequestState.EXTENDED: frozenset(
        {
            RequestState.VERIFIED,
            RequestState.IN_PROGRESS,
            RequestState.AWAITING_MANUAL,
            RequestState.COMPLETED,
            RequestState.REFUSED,
        }
    ),
    RequestState.AWAITING_MANUAL: frozenset({RequestState.COMPLETED}),
    RequestState.COMPLETED: frozenset(),
    RequestState.REFUSED: frozenset(),
}


def _choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def parse_kind(value: str) -> RequestKind:
    _choice(value, [k.value for k in RequestKind], "the request kind")
    return RequestKind(value)


def open_request(
    session: Session,
    user_ref: str | uuid.UUID,
    *,
    kind: RequestKind,
    received_at: datetime,
    channel: str,
    region: str = "cn",
    working_days: int,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> PrivacyRequest:
    """Register a request and fix its deadline from the day it was received."""
    _choice(channel, CHANNELS, "the channel")
    region_code = cast(Jurisdiction, _choice(region, JURISDICTIONS, "the region"))
    if received_at.tzinfo is None:
        raise InvalidInput("the receipt time needs a time zone, e.g. 2026-11-02T09:30+08:00")
    now = clock.now()
    if received_at > now + timedelta(minutes=5):
        raise InvalidInput(f"the receipt time {received_at.isoformat()} is in the future")
    if received_at < now - timedelta(days=3660):
        raise InvalidInput(
            f"the receipt time {received_at.isoformat()} is more than ten years ago",
            hint="check the date given to --received",
        )
    user = get_user(session, user_ref)
    due = due_date(receipt_date(received_at), working_days=working_days, region=region_code)
    request = PrivacyRequest(
        user_id=user.id,
        kind=kind,
        channel=channel,
        region=region,
        state=RequestState.RECEIVED,
        received_at=received_at,
        received_on=due.received_on,
        due_on=due.due_on,
        due_basis=due.basis,
        due_provisional=due.provisional,
        calendar_version=due.calendar_version,
        gdpr_due_on=due.gdpr_due,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    record_event(session, request, "request.opened", actor, clock, due_on=due.due_on.isoformat())
    if kind is RequestKind.GUARDIAN:
        _set_processing(session, user, stopped=True, actor=actor, clock=clock)
    return request


def _set_processing(
    session: Session, user: User, *, stopped: bool, actor: str, clock: Clock
) -> None:
    """A guardian's request stops all processing of the account at once (policy §6)."""
    before, after = (
        (UserStatus.ACTIVE, UserStatus.DELETION_PENDING)
        if stopped
        else (UserStatus.DELETION_PENDING, UserStatus.ACTIVE)
    )
    if user.status is not before:
        return
    user.status = after
    user.updated_at = clock.now()
    action = "user.processing_stopped" if stopped else "user.processing_resumed"
    audit.record(session, action, user_id=user.id, actor=actor, clock=clock)


def get_request(session: Session, request_id: str | uuid.UUID) -> PrivacyRequest:
    """A request by id or unique id prefix."""
    hint = "see `liveai requests list --all` for ids"
    if isinstance(request_id, str) and id_prefix(request_id) is None:
        try:
            uuid.UUID(request_id)
        except ValueError:
            raise InvalidInput(f"{request_id!r} is not a request id", hint=hint) from None
    key = resolve_id(session, PrivacyRequest.id, request_id, noun="request", hint=hint)
    request = session.get(PrivacyRequest, key) if key else None
    if request is None:
        raise NotFound(f"no request {request_id}", hint=hint)
    return request


def transition(
    session: Session,
    request: PrivacyRequest,
    to: RequestState,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
    **details: Any,
) -> PrivacyRequest:
    if to not in TRANSITIONS[request.state]:
        raise Conflict(
            f"request {request.id} is {request.state.value} and cannot become {to.value}"
        )
    previous = request.state
    request.state = to
    request.updated_at = clock.now()
    if to is RequestState.COMPLETED:
        details = {**details, **_record_completion(request)}
    record_event(
        session, request, f"request.{to.value}", actor, clock, **{"from": previous.value}, **details
    )
    return request


def _record_completion(request: PrivacyRequest) -> dict[str, Any]:
    """Stamp the day of completion and whether it met the deadline; the audit details."""
    request.completed_at = request.updated_at
    request.completed_on = receipt_date(request.updated_at)
    request.on_time = request.completed_on <= request.due_on
    recorded: dict[str, Any] = {
        "completed_on": request.completed_on.isoformat(),
        "on_time": request.on_time,
    }
    if not request.on_time:
        recorded["working_days_late"] = working_days_between(request.due_on, request.completed_on)
    return recorded


def verify_manually(
    session: Session,
    request: PrivacyRequest,
    note: str,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> PrivacyRequest:
    if not note.strip():
        raise InvalidInput("a manual verification needs a note saying how identity was checked")
    request.verification = "manual"
    request.verification_note = note.strip()
    return transition(
        session, request, RequestState.VERIFIED, actor=actor, clock=clock, method="manual"
    )


def verify_with_subject(
    session: Session,
    request: PrivacyRequest,
    verified_user_id: uuid.UUID,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> PrivacyRequest:
    """Verified by a valid token of the user: the token's subject must be this user."""
    if verified_user_id != request.user_id:
        raise InvalidInput("the token belongs to another user than the request's subject")
    request.verification = "jwt"
    return transition(
        session, request, RequestState.VERIFIED, actor=actor, clock=clock, method="jwt"
    )


def refuse(
    session: Session,
    request: PrivacyRequest,
    reason: str,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> PrivacyRequest:
    if not reason.strip():
        raise InvalidInput("a refusal needs a reason (PIPL art. 50, GDPR art. 12(4))")
    request.refusal_reason = reason.strip()
    transition(session, request, RequestState.REFUSED, actor=actor, clock=clock)
    if request.kind is RequestKind.GUARDIAN:
        user = session.get_one(User, request.user_id)
        _set_processing(session, user, stopped=False, actor=actor, clock=clock)
    return request


def extend(
    session: Session,
    request: PrivacyRequest,
    reason: str,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> PrivacyRequest:
    """GDPR art. 12(3): two further months, told to the subject within the first month."""
    if request.region != "eu" or request.gdpr_due_on is None:
        raise InvalidInput("only a GDPR (region eu) request can be extended")
    if not reason.strip():
        raise InvalidInput("an extension needs a reason, which the subject must be told")
    today = receipt_date(clock.now())
    if today > request.gdpr_due_on:
        raise Conflict(
            f"the first month ended on {request.gdpr_due_on}: "
            f"too late to extend request {request.id}"
        )
    new_due = request.received_on
    for _ in range(1 + GDPR_EXTENSION_MONTHS):
        new_due = add_one_month(new_due)
    request.extension_reason = reason.strip()
    request.due_on = new_due
    request.due_basis = "gdpr-month-extended"
    return transition(
        session,
        request,
        RequestState.EXTENDED,
        actor=actor,
        clock=clock,
        due_on=new_due.isoformat(),
    )


def list_requests(
    session: Session,
    *,
    today: date,
    overdue: bool = False,
    due_within_days: int | None = None,
    include_closed: bool = False,
    user_id: uuid.UUID | None = None,
) -> Sequence[PrivacyRequest]:
    query = select(PrivacyRequest).order_by(PrivacyRequest.due_on, PrivacyRequest.received_at)
    if user_id is not None:
        query = query.where(PrivacyRequest.user_id == user_id)
    if not include_closed or overdue or due_within_days is not None:
        query = query.where(PrivacyRequest.state.in_(OPEN_STATES))
    if overdue:
        query = query.where(PrivacyRequest.due_on < today)
    if due_within_days is not None:
        query = query.where(PrivacyRequest.due_on <= today + timedelta(days=due_within_days))
    return session.scalars(query).all()


@dataclass(frozen=True)
class RequestView:
    request: PrivacyRequest
    today: date

    def as_dict(self) -> dict[str, Any]:
        r = self.request
        is_open = r.state in OPEN_STATES
        late = r.on_time is False and r.completed_on is not None
        return {
            "id": str(r.id),
            "user_id": str(r.user_id),
            "kind": r.kind.value,
            "channel": r.channel,
            "region": r.region,
            "state": r.state.value,
            "zone": deadline_zone().key,
            "received_at": utc_text(r.received_at),
            "received_on": r.received_on.isoformat(),
            "due_on": r.due_on.isoformat(),
            "due_basis": r.due_basis,
            "due_provisional": r.due_provisional,
            "gdpr_due_on": r.gdpr_due_on.isoformat() if r.gdpr_due_on else None,
            "days_left": (r.due_on - self.today).days if is_open else None,
            "working_days_left": working_days_between(self.today, r.due_on) if is_open else None,
            "overdue": is_open and r.due_on < self.today,
            "verification": r.verification,
            "refusal_reason": r.refusal_reason,
            "extension_reason": r.extension_reason,
            "completed_at": utc_text(r.completed_at) if r.completed_at else None,
            "completed_on": r.completed_on.isoformat() if r.completed_on else None,
            "on_time": r.on_time,
            "working_days_late": (
                working_days_between(r.due_on, r.completed_on) if late and r.completed_on else None
            ),
            "completion_note": r.completion_note,
        }


def record_event(
    session: Session,
    request: PrivacyRequest,
    action: str,
    actor: str,
    clock: Clock,
    **details: Any,
) -> None:
    audit.record(
        session,
        action,
        user_id=request.user_id,
        actor=actor,
        clock=clock,
        details={"request_id": str(request.id), "kind": request.kind.value, **details},
    )


def check_workable(request: PrivacyRequest) -> None:
    """Raise unless work on the request may start (or go on): verified and still open."""
    if request.verification is None:
        raise Conflict(
            f"request {request.id} is not verified",
            hint=f"verify it first: `liveai requests verify {request.id} --note ...`",
        )
    if request.state not in (
        RequestState.IN_PROGRESS,
        RequestState.VERIFIED,
        RequestState.EXTENDED,
    ):
        raise Conflict(
            f"request {request.id} is {request.state.value}: there is no work left to do"
        )


def begin_work(
    session: Session,
    request: PrivacyRequest,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> PrivacyRequest:
    """Move a verified request to in_progress; a request already in progress stays so."""
    check_workable(request)
    if request.state is RequestState.IN_PROGRESS:
        return request
    return transition(session, request, RequestState.IN_PROGRESS, actor=actor, clock=clock)


def complete(
    session: Session,
    request: PrivacyRequest,
    *,
    note: str | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
    **details: Any,
) -> PrivacyRequest:
    """Mark the work done; `note` says what was done or why it was late."""
    if request.state is RequestState.AWAITING_MANUAL:
        raise Conflict(
            f"request {request.id} waits for steps done by hand",
            hint=f"see `liveai requests steps {request.id}` and confirm each one",
        )
    begin_work(session, request, actor=actor, clock=clock)
    if note is not None and note.strip():
        request.completion_note = note.strip()
    return transition(session, request, RequestState.COMPLETED, actor=actor, clock=clock, **details)


def open_from_app(
    session: Session,
    principal: Principal,
    kind: RequestKind | str,
    *,
    region: str = "cn",
    working_days: int | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> PrivacyRequest:
    """A request the signed-in user made in the app (App Store guideline 5.1.1(v)): the
    in-app channel, received now by the server's clock, verified by the user's token.
    `kind` is a RequestKind or its value as the app sends it ("deletion", "export")."""
    request = open_request(
        session,
        principal.user.id,
        kind=_request_kind(kind),
        received_at=clock.now(),
        channel="in-app",
        region=region,
        working_days=working_days or DEFAULT_INVENTORY.sla_working_days,
        actor="app",
        clock=clock,
    )
    return verify_with_subject(session, request, principal.user.id, actor="app", clock=clock)


def _request_kind(kind: RequestKind | str) -> RequestKind:
    try:
        return RequestKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in RequestKind)
        raise InvalidInput(f"{kind!r} is not a request kind", hint=f"use one of {kinds}") from None
