"""Carrying out a verified request: an export writes the bundle, a deletion or guardian
request erases the account (running it again finishes an erasure a crash cut short). The
request is then completed, or waits for the steps left to do by hand.

Apart from `requests` because the erasure it runs imports the register.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.db import Database
from liveai.errors import InvalidInput
from liveai.models import ErasureRun, PrivacyRequest, RequestKind
from liveai.privacy.erasure import Eraser, ErasureTarget, Upstream, resume_target
from liveai.privacy.export import ExportManifest, export_user
from liveai.privacy.requests import begin_work, check_workable, get_request
from liveai.privacy.steps import finish_work
from liveai.settings import Settings
from liveai.storage import Storage

BY_HAND = (RequestKind.CORRECTION, RequestKind.OBJECTION)


@dataclass(frozen=True)
class Work:
    """A request checked and ready to carry out; nothing changed yet."""

    request_id: uuid.UUID
    user_id: uuid.UUID
    kind: RequestKind
    resuming: bool = False  # the account row is gone: only the unfinished erasure is left

    @property
    def exports(self) -> bool:
        return self.kind is RequestKind.EXPORT

    @property
    def target(self) -> ErasureTarget:
        return ErasureTarget(self.user_id, self.resuming)


@dataclass(frozen=True)
class WorkDone:
    """An export's manifest and its completed request, or the erasure's run (which settled
    its request in its last transaction)."""

    request: PrivacyRequest | None = None
    manifest: ExportManifest | None = None
    run: ErasureRun | None = None


def check_work(
    session: Session, request_ref: str, *, out: Path | None = None, dry_run: bool = False
) -> Work:
    """The request `request_ref` names, if `carry_out` can do it: verified, still open, an
    export (with `out`, unless only looking) or an erasure of an account that is there or
    half-erased."""
    request = get_request(session, request_ref)
    if request.kind in BY_HAND:
        raise InvalidInput(
            f"a {request.kind.value} request is carried out by hand (e.g. `liveai users rename`)",
            hint=f"then close it with `liveai requests complete {request.id}`",
        )
    if request.kind is RequestKind.EXPORT and out is None and not dry_run:
        raise InvalidInput("an export request needs --out FILE.zip")
    check_workable(request)
    if request.kind is RequestKind.EXPORT:
        return Work(request.id, request.user_id, request.kind)
    target = resume_target(session, str(request.user_id))
    return Work(request.id, target.user_id, request.kind, resuming=target.resuming)


def carry_out(
    database: Database,
    work: Work,
    *,
    storage: Storage,
    settings: Settings,
    upstream: Upstream | None = None,
    out: Path | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
    task_wait_s: float = 150.0,
) -> WorkDone:
    """Start the work on the request, then export to `out` and complete the request, or
    erase the account through `upstream` (the run settles the request itself)."""
    with database.transaction() as session:
        begin_work(session, get_request(session, work.request_id), actor=actor, clock=clock)
    if work.exports:
        if out is None:
            raise InvalidInput("an export request needs --out FILE.zip")
        return _export(database, work, storage, settings, out, actor=actor, clock=clock)
    if upstream is None:
        raise ValueError("an erasure needs the upstream accounts it closes")
    eraser = Eraser(database, storage, upstream, actor=actor, clock=clock, task_wait_s=task_wait_s)
    return WorkDone(run=eraser.run(work.user_id, request_id=work.request_id))


def _export(
    database: Database,
    work: Work,
    storage: Storage,
    settings: Settings,
    out: Path,
    *,
    actor: str,
    clock: Clock,
) -> WorkDone:
    with database.transaction() as session:
        manifest = export_user(
            session, storage, work.user_id, out, settings=settings, actor=actor, clock=clock
        )
    with database.transaction() as session:
        request = finish_work(
            session, get_request(session, work.request_id), [], actor=actor, clock=clock
        )
    return WorkDone(request=request, manifest=manifest)
