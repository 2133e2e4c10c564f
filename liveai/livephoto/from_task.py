"""A finished generation task's stored result, turned into a Live Photo pair.

The still is the task's own photo (the clip starts from it, so the still time is 0); when
retention has already deleted the photo, the video's first frame stands in for it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from liveai.errors import Conflict, NotFound
from liveai.livephoto.files import ensure_folder
from liveai.livephoto.pair import LivePhotoPair, make_pair
from liveai.livephoto.still import StillFormat
from liveai.models import Task, TaskState, Upload
from liveai.storage import Storage


def pair_name(task: Task) -> str:
    """`<task id>-live`: beside `<task id>.mp4` and its poster `<task id>.jpg`, never over them."""
    return f"{task.id}-live"


def pair_from_task(
    session: Session,
    storage: Storage,
    task: Task,
    out_dir: Path,
    *,
    still_format: StillFormat = "heic",
) -> LivePhotoPair:
    if task.state != TaskState.SUCCEEDED or not task.result_key:
        raise Conflict(
            f"task {task.id} is {task.state.value}, with no video to pair",
            hint="wait for it to succeed: liveai tasks show TASK",
        )
    ensure_folder(out_dir)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".livephoto-") as work:
        video = Path(work) / "result.mp4"
        video.write_bytes(_fetch(storage, task.result_key, "video"))
        photo = _photo(session, storage, task, Path(work))
        return make_pair(video, photo, out_dir, stem=pair_name(task), still_format=still_format)


def _photo(session: Session, storage: Storage, task: Task, work: Path) -> Path | None:
    upload = session.get(Upload, task.upload_id)
    if upload is None or upload.deleted_at is not None:
        return None
    try:
        data = storage.get(upload.storage_key)
    except NotFound:
        return None
    path = work / "photo.jpg"
    path.write_bytes(data)
    return path


def _fetch(storage: Storage, key: str, what: str) -> bytes:
    try:
        return storage.get(key)
    except NotFound:
        raise NotFound(f"the task's {what} is no longer stored", hint="generate it again") from None
