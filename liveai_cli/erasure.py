"""Shared by `users erase` and `requests run`: what an erasure needs, its dry-run plan and
its report, with what became of the request it carried out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from liveai_cli import output, progress, state

if TYPE_CHECKING:
    from liveai.db import Database
    from liveai.models import ErasureRun
    from liveai.privacy.erasure import ErasurePlan, ErasureTarget, Upstream
    from liveai.settings import Settings
    from liveai.storage import Storage


@dataclass(frozen=True)
class Services:
    """The database, storage and remote accounts an erasure reaches."""

    settings: Settings
    database: Database
    storage: Storage
    upstream: Upstream

    @property
    def task_wait_s(self) -> float:
        return self.settings.generation_lease_s + 30  # a worker's lease runs out by then


@contextmanager
def services() -> Iterator[Services]:
    from liveai.privacy.upstream import upstream_from_settings
    from liveai.storage import open_storage

    settings = state.settings()
    storage = open_storage(settings)
    with (
        state.database() as database,
        upstream_from_settings(settings, actor=state.actor()) as upstream,
    ):
        yield Services(settings, database, storage, upstream)


def erase_user(user: str, *, dry_run: bool, yes: bool, fmt: output.Format) -> None:
    """`users erase`: the user, or the half-erased account only its run remembers; the
    user's open deletion request, if any, is carried out with it."""
    from liveai.privacy.erasure import Eraser, resume_target
    from liveai.privacy.steps import pending_erasure_request

    with services() as reach:
        with reach.database.transaction() as session:
            target = resume_target(session, user)
            request = None if target.resuming else pending_erasure_request(session, target.user_id)
            request_id = None if request is None else request.id
        if dry_run:
            show_plan(reach, target, fmt)
            return
        output.confirm(
            f"Erase user {target.user_id} from every store? This cannot be undone.", yes=yes
        )
        with progress.step(f"erasing user {target.user_id}", enabled=not fmt.json):
            eraser = Eraser(
                reach.database,
                reach.storage,
                reach.upstream,
                actor=state.actor(),
                task_wait_s=reach.task_wait_s,
            )
            run = eraser.run(target.user_id, request_id=request_id)
    report(run, request_id, fmt)


def show_plan(reach: Services, target: ErasureTarget, fmt: output.Format) -> None:
    """The --dry-run report: what the erasure would remove, or that it would resume.

    Only a dry run reads storage first: an erasure restricts the account before anything
    outside the database (storage, Apple, Logto) can fail."""
    from liveai.privacy.erasure import plan_erasure

    if target.resuming:
        output.emit({"user_id": str(target.user_id), "resume": True}, fmt)
        return
    with reach.database.transaction() as session:
        plan = plan_erasure(session, reach.storage, target.user_id, reach.upstream)
    output.emit(_plan_dict(plan), fmt)


def report(run: ErasureRun, request_id: uuid.UUID | None, fmt: output.Format) -> None:
    """The run as it ended, what became of its request, and the steps left to do by hand."""
    from liveai.privacy.erasure import run_to_dict

    shown = run_to_dict(run)
    if request_id is not None and "request_state" in shown:
        _say_request_state(request_id, shown["request_state"])
    output.emit(shown, fmt)
    for note in shown.get("manual", []):
        output.warn(f"do by hand: {note}")


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


def _plan_dict(plan: ErasurePlan) -> dict[str, Any]:
    return {
        "user_id": str(plan.user_id),
        "dry_run": True,
        "rows": plan.rows,
        "storage_objects": plan.objects,
        "recipients": plan.recipients,
        "manual": plan.manual,
    }
