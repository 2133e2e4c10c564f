"""Shared by `users erase` and `requests run`: plan, confirm, run and report an erasure."""

from __future__ import annotations

import uuid
from typing import Any

from liveai_cli import output, state


def run_erasure(
    user: str, *, request_id: uuid.UUID | None, dry_run: bool, yes: bool, json_: bool
) -> dict[str, Any]:
    from liveai.privacy.erasure import Eraser, plan_erasure, run_to_dict
    from liveai.privacy.upstream import upstream_from_settings
    from liveai.storage import open_storage

    settings = state.settings()
    storage = open_storage(settings)
    with (
        state.database() as database,
        upstream_from_settings(settings, actor=state.actor()) as upstream,
    ):
        with database.transaction() as session:
            user_id = _resumable_user(session, user)
            # Only a dry run reads storage first: an erasure restricts the account before
            # anything outside the database (storage, Apple, Logto) can fail.
            if dry_run:
                plan = (
                    None if user_id is None else plan_erasure(session, storage, user_id, upstream)
                )
            request_id = request_id or _open_request(session, user_id)
        if user_id is None:
            user_id = uuid.UUID(user)
        if dry_run:
            shown = _plan_dict(plan, user_id)
            _emit(shown, json_)
            return shown
        output.confirm(f"Erase user {user_id} from every store? This cannot be undone.", yes=yes)
        from liveai_cli import progress

        wait = settings.generation_lease_s + 30  # a worker's lease runs out by then
        with progress.step(f"erasing user {user_id}", enabled=not json_):
            eraser = Eraser(database, storage, upstream, actor=state.actor(), task_wait_s=wait)
            run = eraser.run(user_id, request_id=request_id)
        shown = run_to_dict(run)
        if request_id is not None and "request_state" in shown:
            _say_request_state(request_id, shown["request_state"])
    _emit(shown, json_)
    for note in shown.get("manual", []):
        output.warn(f"do by hand: {note}")
    return shown


def _open_request(session: Any, user_id: uuid.UUID | None) -> uuid.UUID | None:
    from liveai.privacy.steps import pending_erasure_request

    request = None if user_id is None else pending_erasure_request(session, user_id)
    return None if request is None else request.id


def _say_request_state(request_id: uuid.UUID, outcome: str) -> None:
    """Say what became of the request the erasure carried out."""
    if outcome == "linked":
        output.warn(
            f"request {request_id} is not verified: linked to this erasure; verify it, then "
            f"`liveai requests complete {request_id}`"
        )
    elif outcome == "awaiting_manual":
        output.info(
            f"request {request_id} awaits the steps below: "
            f"`liveai requests confirm {request_id} STEP --note ...` for each"
        )
    else:
        output.info(f"request {request_id} {outcome}")


def _resumable_user(session: Any, ref: str) -> uuid.UUID | None:
    """The user's id; None when only an unfinished erasure run still remembers it."""
    from sqlalchemy import select

    from liveai.errors import NotFound
    from liveai.models import ErasureRun
    from liveai.users import get_user

    try:
        return get_user(session, ref).id
    except NotFound:
        try:
            user_id = uuid.UUID(ref)
        except ValueError:
            raise NotFound(f"no user {ref!r}", hint="see `liveai users list`") from None
        pending = session.scalar(
            select(ErasureRun.id).where(
                ErasureRun.user_id == user_id, ErasureRun.completed_at.is_(None)
            )
        )
        if pending is None:
            raise
        return None


def _plan_dict(plan: Any, user_id: uuid.UUID) -> dict[str, Any]:
    if plan is None:
        return {"user_id": str(user_id), "resume": True}
    return {
        "user_id": str(plan.user_id),
        "dry_run": True,
        "rows": plan.rows,
        "storage_objects": plan.objects,
        "recipients": plan.recipients,
        "manual": plan.manual,
    }


def _emit(shown: dict[str, Any], json_: bool) -> None:
    if json_:
        output.emit_json(shown)
    else:
        output.fields(shown)
