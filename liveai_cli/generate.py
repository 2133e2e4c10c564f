"""liveai generate: turn a photo (or a manifest of them) into videos."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveai_cli import choices, output, state
from liveai_cli.app import AliasGroup, App
from liveai_cli.groups import summary

if TYPE_CHECKING:
    import uuid

    from liveai.generation import Lifecycle

DEFAULT_COMMAND = "image"


class _ImageByDefault(AliasGroup):
    """`liveai generate PHOTO` is short for `liveai generate image PHOTO`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)  # type: ignore[no-any-return]


app = App(
    cls=_ImageByDefault,
    help=summary("generate") + "\n\nExample: liveai generate --sample",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="A user id or subject; default: the local developer user."),
]


@contextmanager
def lifecycle(progress: Callable[[uuid.UUID, str], None] | None = None) -> Iterator[Lifecycle]:
    """A Lifecycle on the configured database, storage and providers, closed afterwards."""
    from liveai.generation.lifecycle import no_progress
    from liveai.generation.runtime import build_lifecycle, http_client

    settings = state.settings()
    with state.database() as db, http_client(settings) as client:
        yield build_lifecycle(db, settings, client, progress=progress or no_progress)


class _Stages:
    """The live progress line on stderr: the stage and the time since the start."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.status: Any = None

    def __enter__(self) -> _Stages:
        if self.enabled and output.stderr().is_terminal:
            self.status = output.stderr().status("starting")
            self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)

    def __call__(self, task_id: uuid.UUID, stage: str) -> None:
        line = f"{stage} ({time.monotonic() - self.started:.1f} s)"
        if self.status is not None:
            self.status.update(line)
        elif self.enabled:
            output.info(line)


@app.command(DEFAULT_COMMAND)
def image(
    photo: Annotated[
        Path | None, typer.Argument(help="A jpg, png or heic photo.", show_default=False)
    ] = None,
    prompt: Annotated[str, typer.Option(help="What should happen in the video.")] = "",
    motion: Annotated[choices.Motion, typer.Option(help="Camera motion.")] = "zoom_in",
    duration: Annotated[int | None, typer.Option(min=1, help="Seconds; default 5.")] = None,
    provider: Annotated[
        choices.Provider | None,
        typer.Option(
            help="Use exactly this provider (kling, ark, wan, fal, local), or auto: the "
            "configured order with failover (the default)."
        ),
    ] = None,
    user: UserOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the video and its poster.")] = Path("."),
    sample: Annotated[bool, typer.Option("--sample", help="Use a bundled sample photo.")] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Queue it for a worker and return.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Generate one video from a photo, showing its progress; save it and its poster.

    Example: liveai generate photo.jpg --prompt "waves roll in" --motion pan_left --out videos
    """
    from liveai.generation.sample import sample_photo

    if (photo is None) == (not sample):
        raise typer.BadParameter("pass a PHOTO, or --sample for the bundled one")
    data = sample_photo() if sample else _read(photo)
    stages = _Stages(enabled=not json_)
    with lifecycle(stages) as runner:
        with stages:
            task_id = _queue(runner, data, prompt, motion, duration, provider, user)
            if not no_wait:
                runner.run(task_id)
        _finish(runner, task_id, None if no_wait else out, json_)


def _read(photo: Path | None) -> bytes:
    from liveai.errors import InvalidInput

    assert photo is not None
    try:
        return photo.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {photo}: {exc.strerror}") from None


def _queue(
    runner: Lifecycle,
    data: bytes,
    prompt: str,
    motion: str,
    duration: int | None,
    provider: str | None,
    user: str | None,
) -> uuid.UUID:
    from liveai.generation import NewTask, create_task, parse_motion, resolve_user

    new = NewTask(data, prompt, parse_motion(motion), duration, provider)
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
            actor=state.actor(),
        )
        return task.id


def _finish(runner: Lifecycle, task_id: uuid.UUID, out: Path | None, json_: bool) -> None:
    from liveai.errors import ExitCode
    from liveai.generation import get_task, task_to_dict, transfers_of

    with runner.database.transaction() as session:
        task = get_task(session, task_id)
        shown = task_to_dict(task, transfers_of(session, task.id))
    if out is not None and task.result_key and task.poster_key:
        shown["files"] = _save(runner, task.result_key, task.poster_key, out, str(task.id))
    if json_:
        output.emit_json(shown)
    else:
        keys = ("id", "state", "provider", "charged", "error", "files")
        output.fields({k: shown[k] for k in keys if shown.get(k) is not None})
    if shown["state"] in ("failed", "cancelled"):
        raise typer.Exit(int(ExitCode.UPSTREAM if shown["state"] == "failed" else 1))


def _save(runner: Lifecycle, video: str, poster: str, out: Path, name: str) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for key, suffix in ((video, ".mp4"), (poster, ".jpg")):
        path = out / f"{name}{suffix}"
        path.write_bytes(runner.storage.get(key))
        files.append(str(path))
    return files


@app.command("batch")
def batch(
    manifest: Annotated[
        Path, typer.Argument(help="CSV with a header, or JSON Lines: image, prompt, motion, ...")
    ],
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tasks at once.")] = 4,
    user: UserOption = None,
    json_: JsonOption = False,
) -> None:
    """Run every line of a manifest concurrently; lines already done are skipped on a rerun.

    Example: liveai generate batch shots.csv --concurrency 8
    """
    from liveai.generation import resolve_user
    from liveai.generation.batch import read_manifest, run_batch

    items = read_manifest(manifest)
    with lifecycle() as runner, _bar(len(items), enabled=not json_) as advance:
        with runner.database.transaction() as session:
            owner = resolve_user(session, runner.settings, user, clock=runner.clock).id
        results = run_batch(
            runner, owner, items, concurrency=concurrency, actor=state.actor(), on_item=advance
        )
    rows = [
        {
            "line": r.item.line,
            "image": str(r.item.image),
            "task": str(r.task_id) if r.task_id else None,
            "state": r.state,
            "error": r.error,
        }
        for r in results
    ]
    if json_:
        output.emit_json(rows)
    else:
        output.table(rows, ["line", "image", "task", "state", "error"])
    if any(r["state"] not in ("succeeded", "skipped") for r in rows):
        raise typer.Exit(1)


@contextmanager
def _bar(total: int, *, enabled: bool) -> Iterator[Callable[[Any], None]]:
    """One progress bar on stderr for the whole batch (off without a terminal)."""
    if not (enabled and output.stderr().is_terminal):
        yield lambda _: None
        return
    from rich.progress import Progress

    with Progress(console=output.stderr(), transient=True) as progress:
        bar = progress.add_task("generating", total=total)
        yield lambda _: progress.advance(bar)
