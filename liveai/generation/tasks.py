"""Creating, finding, cancelling and deleting generation tasks (in the caller's transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import Clock
from liveai.errors import Conflict, InsufficientCredits, InvalidInput, NotFound, UpstreamError
from liveai.generation.pricing import hold_amount
from liveai.images import IntakeLimits, prepare_image
from liveai.models import DataTransfer, Task, TaskState, Upload, User, UserStatus
from liveai.privacy import consents
from liveai.providers.base import Motion, Provider
from liveai.providers.moderation import screening_routes
from liveai.providers.registry import candidates, explicit_choice
from liveai.settings import Settings
from liveai.storage import Storage, result_key, upload_key
from liveai.text import refuse_control

MAX_PROMPT = 2000


@dataclass(frozen=True)
class NewTask:
    """What a caller asks for; the photo is raw bytes in any accepted format."""

    image: bytes
    prompt: str = ""
    motion: Motion = Motion.ZOOM_IN
    duration_s: int | None = None
    provider: str | None = None
    client_key: str | None = None


@dataclass(frozen=True)
class TaskKeys:
    """The ledger's keys for a task: its hold, the posting or voiding of that hold (each
    happens once however often it is tried), and the reference the hold carries."""

    hold: str
    post: str
    void: str
    reference: str


def task_keys(task_id: uuid.UUID) -> TaskKeys:
    prefix = f"task:{task_id}"
    return TaskKeys(f"{prefix}:hold", f"{prefix}:post", f"{prefix}:void", prefix)


def video_key(task: Task) -> str:
    return result_key(task.user_id, f"{task.id}.mp4")


def poster_key(task: Task) -> str:
    return result_key(task.user_id, f"{task.id}.jpg")


def parse_motion(value: str) -> Motion:
    try:
        return Motion(value.strip().lower().replace("-", "_"))
    except ValueError:
        raise InvalidInput(
            f"unknown camera motion {value!r}",
            hint=f"pick one of: {', '.join(m.value for m in Motion)}",
        ) from None


def _require_active(session: Session, user_id: uuid.UUID) -> None:
    """A user whose account is being erased (or a guardian asked to stop) gets nothing new."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", hint="see `liveai users list`")
    if user.status is not UserStatus.ACTIVE:
        raise Conflict(
            f"user {user_id} is {user.status.value.replace('_', ' ')}: processing has stopped",
            hint="no new generation can start for this account",
        )


def create_task(
    session: Session,
    storage: Storage,
    providers: Mapping[str, Provider],
    settings: Settings,
    user_id: uuid.UUID,
    new: NewTask,
    *,
    clock: Clock,
    actor: str = "system",
) -> Task:
    """Validate the photo, store it, and queue a task with its price held on the ledger.

    Raises InvalidInput for an unusable photo or request, ConsentMissing when no provider
    it may go to has the user's consent, InsufficientCredits when the user cannot cover
    the hold; nothing is stored or queued then.
    """
    from liveai import ledger

    _require_active(session, user_id)
    refuse_control(new.prompt, what="prompt", lines=True)
    if len(new.prompt) > MAX_PROMPT:
        raise InvalidInput(f"the prompt is {len(new.prompt)} characters, at most {MAX_PROMPT}")
    if new.duration_s is not None and new.duration_s < 1:
        raise InvalidInput(f"a duration of {new.duration_s} s", hint="pass whole seconds above 0")
    duration = new.duration_s or settings.generation_default_duration_s
    names = candidates(providers, settings, new.provider)
    routes = [(name, providers[name].region) for name in names]
    screening = {name: screening_routes(providers[name]) for name in names}
    consents.require_any_route(session, user_id, routes, screening=screening)
    price = hold_amount(settings, names, duration)
    image = prepare_image(new.image, IntakeLimits.from_settings(settings))
    now = clock.now()
    task_id = uuid.uuid4()
    keys = task_keys(task_id)
    upload = Upload(
        user_id=user_id,
        storage_key=upload_key(user_id, f"{task_id}.jpg"),
        media_type=image.content_type,
        size_bytes=len(image.jpeg),
        sha256=image.sha256,
        width=image.width,
        height=image.height,
        created_at=now,
    )
    session.add(upload)
    session.flush()
    task = Task(
        id=task_id,
        user_id=user_id,
        upload_id=upload.id,
        state=TaskState.QUEUED,
        prompt=new.prompt.strip(),
        motion=new.motion.value,
        duration_s=duration,
        requested_provider=explicit_choice(new.provider),
        price=price,
        hold_key=keys.hold,
        client_key=new.client_key,
        attempts=0,
        polls=0,
        cancel_requested=False,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    try:
        ledger.hold(
            session,
            user_id,
            price,
            key=keys.hold,
            reference=keys.reference,
            timeout=timedelta(seconds=settings.generation_hold_timeout_s),
            reason="generation",
            clock=clock,
        )
    except InsufficientCredits as exc:
        from liveai.generation.pricing import short_of_credits_hint

        exc.hint = short_of_credits_hint(settings, user_id, price)
        raise
    # Stored last: a refused hold leaves no object behind. A failed commit can still
    # orphan this object; it sits under the user's prefix, where erasure finds it.
    storage.put(upload.storage_key, image.jpeg, content_type=image.content_type)
    details = {"task_id": str(task_id), "price": price, "duration_s": duration}
    audit.record(
        session, "task.created", user_id=user_id, details=details, actor=actor, clock=clock
    )
    return task


def find_by_client_key(session: Session, client_key: str) -> Task | None:
    return session.scalar(select(Task).where(Task.client_key == client_key))


def get_task(session: Session, ref: str | uuid.UUID, *, include_deleted: bool = False) -> Task:
    """A task by id or unique id prefix."""
    from liveai.ids import resolve_id

    hint = "see `liveai tasks list` for ids"
    task_id = resolve_id(session, Task.id, ref, noun="task", hint=hint)
    task = session.get(Task, task_id) if task_id else None
    if task is None or (task.deleted_at is not None and not include_deleted):
        raise NotFound(f"no task {ref!r}", hint=hint)
    return task


def _as_uuid(ref: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(ref, uuid.UUID):
        return ref
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def list_tasks(
    session: Session,
    *,
    user_id: uuid.UUID | None = None,
    state: TaskState | None = None,
    limit: int | None = None,
) -> Sequence[Task]:
    """Tasks newest first; works the user deleted are gone from listings."""
    query = select(Task).where(Task.deleted_at.is_(None))
    if user_id is not None:
        query = query.where(Task.user_id == user_id)
    if state is not None:
        query = query.where(Task.state == state)
    query = query.order_by(Task.created_at.desc(), Task.id).limit(limit)
    return session.scalars(query).all()


def request_cancel(
    session: Session, ref: str | uuid.UUID, *, clock: Clock, actor: str = "system"
) -> Task:
    """Mark a task for cancellation; whoever runs it stops, cancels upstream and refunds."""
    task = get_task(session, ref)
    if task.state.terminal:
        raise Conflict(f"task {task.id} already {task.state.value}", hint="nothing to cancel")
    task.cancel_requested = True
    task.updated_at = clock.now()
    audit.record(
        session,
        "task.cancel_requested",
        user_id=task.user_id,
        details={"task_id": str(task.id)},
        actor=actor,
        clock=clock,
    )
    return task


def delete_task(
    session: Session,
    storage: Storage,
    ref: str | uuid.UUID,
    *,
    clock: Clock,
    actor: str = "system",
) -> Task:
    """The user deletes a work: its video, poster and photo go (every version), then the
    record is marked deleted. A store that refuses any of them leaves the record as it was
    (UpstreamError): running the same delete again finishes it."""
    task = get_task(session, ref)
    if not task.state.terminal:
        raise Conflict(
            f"task {task.id} is still {task.state.value}",
            hint=f"cancel it first: `liveai tasks cancel {task.id}`",
        )
    results = [key for key in (task.result_key, task.poster_key) if key]
    upload = session.get(Upload, task.upload_id)
    photo = [upload.storage_key] if upload is not None and upload.deleted_at is None else []
    report = storage.delete_many([*results, *photo])
    if report.failed:
        key, reason = report.failed[0]
        raise UpstreamError(
            f"{storage.describe()} refused to delete {len(report.failed)} of task {task.id}'s "
            f"objects (first: {key}: {reason}); the task is kept",
            hint="fix the storage permissions or lock, then run the same delete again",
        )
    now = clock.now()
    task.result_key = task.poster_key = task.result_url = None
    task.deleted_at = task.updated_at = now
    if upload is not None and photo:
        upload.deleted_at = now
    audit.record(
        session,
        "task.deleted",
        user_id=task.user_id,
        details={"task_id": str(task.id), "objects": len(results)},
        actor=actor,
        clock=clock,
    )
    return task


def task_to_dict(task: Task, transfers: Sequence[DataTransfer] = ()) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": str(task.id),
        "user_id": str(task.user_id),
        "state": task.state.value,
        "prompt": task.prompt,
        "motion": task.motion,
        "duration_s": task.duration_s,
        "provider": task.provider or task.requested_provider,
        "provider_task_id": task.provider_task_id,
        "attempts": task.attempts,
        "skipped": task.skipped or [],
        "price": task.price,
        "charged": task.charged,
        "result_key": task.result_key,
        "poster_key": task.poster_key,
        "error_code": task.error_code,
        "error": task.error,
        "created_at": when(task.created_at),
        "submitted_at": when(task.submitted_at),
        "finished_at": when(task.finished_at),
        "transfers": [
            {
                "provider": t.provider,
                "region": t.region,
                "items": t.items,
                "transport": t.transport,
                "at": when(t.at),
            }
            for t in transfers
        ],
    }
