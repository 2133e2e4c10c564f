"""Steps a request leaves to be done by hand, tracked as open items.

An erasure that could not revoke Sign in with Apple or delete the Logto user itself ends
with those steps open; the request waits in awaiting_manual, its deadline still running,
and is completed when the last step is confirmed with a note saying what was done.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import Conflict, InvalidInput, NotFound
from liveai.models import PrivacyRequest, RequestKind, RequestState, RequestStep
from liveai.moments import utc_text
from liveai.privacy import requests as register

ERASING_KINDS = (RequestKind.DELETION, RequestKind.GUARDIAN)


def list_steps(session: Session, request: PrivacyRequest) -> Sequence[RequestStep]:
    return session.scalars(
        select(RequestStep).where(RequestStep.request_id == request.id).order_by(RequestStep.id)
    ).all()


def finish_work(
    session: Session,
    request: PrivacyRequest,
    manual: Sequence[tuple[str, str]],
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> PrivacyRequest:
    """The automated part is done: complete the request, or open the (key, what to do)
    steps left by hand and wait for them."""
    if request.state is RequestState.AWAITING_MANUAL:
        return request
    register.begin_work(session, request, actor=actor, clock=clock)
    if not manual:
        return register.complete(session, request, actor=actor, clock=clock)
    now = clock.now()
    for key, description in manual:
        session.add(
            RequestStep(request_id=request.id, key=key, description=description, opened_at=now)
        )
    return register.transition(
        session,
        request,
        RequestState.AWAITING_MANUAL,
        actor=actor,
        clock=clock,
        steps=[key for key, _ in manual],
    )


def confirm_step(
    session: Session,
    request: PrivacyRequest,
    step_ref: str,
    note: str,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> RequestStep:
    """Confirm one step (by key or number) with a note; the last one completes the request."""
    if not note.strip():
        raise InvalidInput("confirming a step needs a note saying what was done")
    steps = list_steps(session, request)
    step = _find(steps, step_ref, request)
    if step.confirmed_at is not None:
        raise Conflict(f"step {step.key} of request {request.id} is already confirmed")
    step.confirmed_at = clock.now()
    step.confirmed_by = actor
    step.note = note.strip()
    still_open = [s.key for s in steps if s.confirmed_at is None]
    register.record_event(
        session, request, "request.step_confirmed", actor, clock, step=step.key, open=still_open
    )
    if not still_open:
        register.transition(session, request, RequestState.COMPLETED, actor=actor, clock=clock)
    return step


def _find(steps: Sequence[RequestStep], ref: str, request: PrivacyRequest) -> RequestStep:
    for number, step in enumerate(steps, start=1):
        if ref in (step.key, str(number)):
            return step
    known = ", ".join(s.key for s in steps) or "none"
    raise NotFound(
        f"request {request.id} has no step {ref!r} (steps: {known})",
        hint=f"see `liveai requests steps {request.id}`",
    )


def step_to_dict(number: int, step: RequestStep) -> dict[str, Any]:
    """A step as JSON shows it: times exact, in UTC."""
    return {
        "step": number,
        "key": step.key,
        "open": step.confirmed_at is None,
        "description": step.description,
        "opened_at": utc_text(step.opened_at),
        "confirmed_at": utc_text(step.confirmed_at) if step.confirmed_at else None,
        "confirmed_by": step.confirmed_by,
        "note": step.note,
    }


def pending_erasure_request(session: Session, user_id: Any) -> PrivacyRequest | None:
    """The user's open deletion or guardian request an erasure carries out, if any."""
    return session.scalars(
        select(PrivacyRequest)
        .where(
            PrivacyRequest.user_id == user_id,
            PrivacyRequest.kind.in_(ERASING_KINDS),
            PrivacyRequest.state.in_(register.OPEN_STATES),
            PrivacyRequest.state != RequestState.AWAITING_MANUAL,
        )
        .order_by(PrivacyRequest.received_at)
    ).first()


def settle_after_erasure(
    session: Session,
    request: PrivacyRequest,
    report: dict[str, Any],
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> str:
    """After the account is erased: finish a verified request (completed, or
    awaiting_manual with the steps the erasure left), or link an unverified one to the
    run. Returns the request's state, or "linked"."""
    if request.verification is None:
        # No run id: the run keeps the erased user's old id, the request now the pseudonym.
        register.record_event(session, request, "request.erasure_linked", actor, clock)
        return "linked"
    manual = list(zip(report.get("skipped", []), report.get("manual", []), strict=False))
    return finish_work(session, request, manual, actor=actor, clock=clock).state.value
