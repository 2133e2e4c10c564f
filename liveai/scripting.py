"""The scripting facade: one call runs a whole generation and returns where the files are.

    import liveai

    result = liveai.generate("cat.jpg", prompt="the cat blinks", out="videos")
    print(result.video)

`generate` opens the configured database, storage and providers (the same settings as the
CLI), queues the task with its credits held, runs it to the end, saves the video and its
poster into `out` and closes everything. `generate_many` does the same for several photos
at once. Library errors (`liveai.errors`) are raised as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The library is imported inside the functions below: `liveai.generate` loads this module,
# and touching it must not load SQLAlchemy or httpx (tests/test_scripting.py).
if TYPE_CHECKING:
    from liveai.generation.lifecycle import Lifecycle
    from liveai.models import Task
    from liveai.settings import Settings
    from liveai.storage import Storage

Photo = str | Path | bytes


@dataclass(frozen=True)
class Result:
    """A finished generation: its task, outcome, cost, and the files saved."""

    task_id: str
    state: str
    provider: str | None
    charged: int
    video: Path | None
    poster: Path | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.state == "succeeded"


@contextmanager
def open_lifecycle(settings: Settings | None = None) -> Iterator[Lifecycle]:
    """A Lifecycle on the configured database, storage and providers, closed afterwards."""
    from liveai.db import open_database
    from liveai.generation.runtime import build_lifecycle, http_client
    from liveai.settings import load_settings

    settings = settings or load_settings()
    db = open_database(settings)
    try:
        with http_client(settings) as client:
            yield build_lifecycle(db, settings, client)
    finally:
        db.close()


def save_result(storage: Storage, task: Task, out: Path, name: str) -> tuple[Path, Path] | None:
    """Write a finished task's video and poster into `out` as NAME.mp4 and NAME.jpg (0600:
    they hold a person's likeness)."""
    if not (task.result_key and task.poster_key):
        return None
    from liveai.private_files import private_folder, write_private

    private_folder(out)
    video, poster = out / f"{name}.mp4", out / f"{name}.jpg"
    write_private(video, storage.get(task.result_key))
    write_private(poster, storage.get(task.poster_key))
    return video, poster


def _read(photo: Photo) -> bytes:
    from liveai.errors import InvalidInput

    if isinstance(photo, bytes):
        return photo
    try:
        return Path(photo).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {photo}: {exc.strerror}") from None


def _queue(runner: Lifecycle, data: bytes, user: str | None, **wanted: Any) -> uuid.UUID:
    from liveai.generation import NewTask, create_task, parse_motion, resolve_user

    new = NewTask(
        data,
        wanted["prompt"],
        parse_motion(wanted["motion"]),
        wanted["duration"],
        wanted["provider"],
    )
    with runner.database.transaction() as session:
        owner = resolve_user(session, runner.settings, user, clock=runner.clock)
        task = create_task(
            session,
            runner.storage,
            runner.providers,
            runner.settings,
            owner.id,
            new,
            clock=runner.clock,
            actor="script",
        )
        return task.id


def _result(runner: Lifecycle, task_id: uuid.UUID, out: Path | None, stem: str) -> Result:
    from liveai.generation import get_task

    with runner.database.transaction() as session:
        task = get_task(session, task_id)
        files = save_result(runner.storage, task, out, f"{stem}{task.id}") if out else None
        return Result(
            task_id=str(task.id),
            state=task.state.value,
            provider=task.provider or task.requested_provider,
            charged=task.charged or 0,
            video=files[0] if files else None,
            poster=files[1] if files else None,
            error=task.error,
        )


def generate(
    photo: Photo,
    *,
    prompt: str = "",
    motion: str = "zoom_in",
    duration: int | None = None,
    provider: str | None = None,
    user: str | None = None,
    out: str | Path | None = ".",
    settings: Settings | None = None,
) -> Result:
    """Turn one photo into a video; save it and its poster into `out` (None: do not save)."""
    with open_lifecycle(settings) as runner:
        wanted = {"prompt": prompt, "motion": motion, "duration": duration, "provider": provider}
        task_id = _queue(runner, _read(photo), user, **wanted)
        runner.run(task_id)
        return _result(runner, task_id, Path(out) if out is not None else None, "")


def generate_many(
    photos: Iterable[Photo],
    *,
    prompt: str = "",
    motion: str = "zoom_in",
    duration: int | None = None,
    provider: str | None = None,
    user: str | None = None,
    out: str | Path | None = ".",
    concurrency: int = 4,
    settings: Settings | None = None,
) -> list[Result]:
    """Several photos with the same settings, `concurrency` at a time; results in order.

    A photo that cannot be queued (unreadable, refused, not enough credits) gets a result
    with state "refused" and the reason in `error`; the others still run.
    """
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from liveai.errors import LiveAIError
    from liveai.generation.lifecycle import default_runner_id

    wanted = {"prompt": prompt, "motion": motion, "duration": duration, "provider": provider}
    folder = Path(out) if out is not None else None
    with open_lifecycle(settings) as runner:

        def run(photo: Photo) -> Result:
            try:
                task_id = _queue(runner, _read(photo), user, **wanted)
            except LiveAIError as exc:
                return Result("", "refused", None, 0, None, None, str(exc))
            replace(runner, runner_id=default_runner_id()).run(task_id)
            return _result(runner, task_id, folder, "")

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(run, list(photos)))
