"""Batches: a manifest (CSV or JSON Lines) of generations, run concurrently and resumably.

Each line gets a key from its position and content; running the same manifest again skips
the lines that already succeeded, finishes the unfinished ones and retries failed ones.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from liveai import stopping
from liveai.errors import InvalidInput, LiveAIError
from liveai.generation.lifecycle import Lifecycle, default_runner_id
from liveai.generation.tasks import NewTask, create_task, parse_motion
from liveai.models import Task, TaskState

FIELDS = ("image", "prompt", "motion", "duration", "provider", "live_photo")
_YES, _NO = ("1", "true", "yes", "y"), ("", "0", "false", "no", "n")


@dataclass(frozen=True)
class Item:
    line: int
    image: Path
    prompt: str
    motion: str
    duration_s: int | None
    provider: str | None
    live_photo: bool = False  # also write a Live Photo pair of the result


@dataclass
class ItemResult:
    item: Item
    task_id: uuid.UUID | None
    state: str
    error: str | None = None


def read_manifest(path: Path) -> list[Item]:
    """Parse a CSV (with a header) or JSON Lines manifest; image paths are relative to it."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel saves CSV with a BOM
    except OSError as exc:
        raise InvalidInput(f"cannot read the manifest {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the manifest {path} is not UTF-8 text (byte {exc.start})",
            hint="save it as CSV UTF-8 or JSON Lines",
        ) from None
    jsonl = path.suffix in (".jsonl", ".ndjson") or text.lstrip().startswith("{")
    rows = _jsonl_rows(text, path) if jsonl else _csv_rows(text, path)
    items = [_item(row, line, path.parent, path) for line, row in rows]
    if not items:
        raise InvalidInput(f"the manifest {path} lists no images")
    return items


def _jsonl_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InvalidInput(f"{path}:{number}: each line must be a JSON object")
        rows.append((number, row))
    return rows


def _csv_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "image" not in reader.fieldnames:
        raise InvalidInput(f"{path}: the CSV needs a header with at least an image column")
    return [
        (reader.line_num, row) for row in reader if any((v or "").strip() for v in row.values())
    ]


def _item(row: dict[str, Any], line: int, base: Path, path: Path) -> Item:
    unknown = set(row) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"{path}:{line}: unknown columns {sorted(unknown)}")
    image = str(row.get("image") or "").strip()
    if not image:
        raise InvalidInput(f"{path}:{line}: no image")
    raw = row.get("duration")
    duration = "" if raw is None else str(raw).strip()
    if duration and (not duration.isdigit() or int(duration) == 0):
        raise InvalidInput(f"{path}:{line}: duration {duration!r} is not whole seconds above 0")
    motion = str(row.get("motion") or "zoom_in").strip()
    parse_motion(motion)
    live_photo = str(row.get("live_photo") or "").strip().lower()
    if live_photo not in _YES + _NO:
        raise InvalidInput(f"{path}:{line}: live_photo {live_photo!r} is not yes or no")
    return Item(
        line=line,
        image=base / image,
        prompt=str(row.get("prompt") or ""),
        motion=motion,
        duration_s=int(duration) if duration else None,
        provider=str(row.get("provider") or "").strip() or None,
        live_photo=live_photo in _YES,
    )


def item_key(user_id: uuid.UUID, item: Item, image: bytes) -> str:
    content = [
        str(user_id),
        str(item.line),
        hashlib.sha256(image).hexdigest(),
        item.prompt,
        item.motion,
        str(item.duration_s),
        str(item.provider),
    ]
    return "batch:" + hashlib.sha256("\x1f".join(content).encode()).hexdigest()[:40]


def run_batch(
    lifecycle: Lifecycle,
    user_id: uuid.UUID,
    items: list[Item],
    *,
    concurrency: int = 4,
    actor: str = "system",
    on_item: Callable[[ItemResult], None] | None = None,
) -> list[ItemResult]:
    """Queue every line that is not done yet, then run them with `concurrency` threads."""
    planned = [_plan(lifecycle, user_id, item, actor) for item in items]

    def run(result: ItemResult) -> ItemResult:
        if stopping.requested():  # interrupted: lines not started stay queued
            return result
        if result.task_id is not None and result.state not in ("skipped", "refused"):
            runner = replace(lifecycle, runner_id=default_runner_id())
            try:
                task = runner.run(result.task_id)
                result.state, result.error = task.state.value, task.error
            except LiveAIError as exc:
                result.state, result.error = "error", str(exc)
        if on_item is not None:
            on_item(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(run, planned))


def _plan(lifecycle: Lifecycle, user_id: uuid.UUID, item: Item, actor: str) -> ItemResult:
    try:
        image = item.image.read_bytes()
    except OSError as exc:
        return ItemResult(item, None, "refused", f"cannot read {item.image}: {exc.strerror}")
    key = item_key(user_id, item, image)
    with lifecycle.database.transaction() as session:
        latest = session.scalar(
            select(Task)
            .where(or_(Task.client_key == key, Task.client_key.like(f"{key}:%")))
            .order_by(Task.created_at.desc())
            .limit(1)
        )
        if latest is not None and latest.state is TaskState.SUCCEEDED:
            return ItemResult(item, latest.id, "skipped")
        if latest is not None and not latest.state.terminal:
            return ItemResult(item, latest.id, latest.state.value)
        if latest is not None:
            key = f"{key}:{uuid.uuid4().hex[:8]}"
    new = NewTask(
        image=image,
        prompt=item.prompt,
        motion=parse_motion(item.motion),
        duration_s=item.duration_s,
        provider=item.provider,
        client_key=key,
    )
    try:
        with lifecycle.database.transaction() as session:
            task = create_task(
                session,
                lifecycle.storage,
                lifecycle.providers,
                lifecycle.settings,
                user_id,
                new,
                clock=lifecycle.clock,
                actor=actor,
            )
            return ItemResult(item, task.id, task.state.value)
    except LiveAIError as exc:
        return ItemResult(item, None, "refused", exc.message)
