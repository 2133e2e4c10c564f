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
        if self.enabled and output.stderr().is_interactive:
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
    from liveai.scripting import save_result

    with runner.database.transaction() as session:
        task = get_task(session, task_id)
        shown = task_to_dict(task, transfers_of(session, task.id))
    files = save_result(runner.storage, task, out, str(task.id)) if out is not None else None
    if files:
        shown["files"] = [str(path) for path in files]
    if json_:
        output.emit_json(shown)
    else:
        keys = ("id", "state", "provider", "charged", "error", "files")
        output.fields({k: shown[k] for k in keys if shown.get(k) is not None})
    if shown["state"] in ("failed", "cancelled"):
        raise typer.Exit(int(ExitCode.UPSTREAM if shown["state"] == "failed" else 1))


@app.command("batch")
def batch(
    manifest: Annotated[
        Path, typer.Argument(help="CSV with a header, or JSON Lines: image, prompt, motion, ...")
    ],
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tasks at once.")] = 4,
    user: UserOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Save each video and poster here as PHOTO-TASKID.mp4/.jpg.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Validate and price every line; exit 5 if the balance is short."
        ),
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Run every line of a manifest concurrently; lines already done are skipped on a rerun.


    Example: liveai generate batch shots.csv --concurrency 8 --out videos
    """
    from liveai.generation import resolve_user
    from liveai.generation.batch import read_manifest, run_batch

    items = read_manifest(manifest)
    with lifecycle() as runner:
        with runner.database.transaction() as session:
            owner = resolve_user(session, runner.settings, user, clock=runner.clock).id
        if dry_run:
            _dry_run(runner, owner, items, json_)
            return
        with _bar(len(items), enabled=not json_) as advance:
            results = run_batch(
                runner, owner, items, concurrency=concurrency, actor=state.actor(), on_item=advance
            )
        rows = [_batch_row(runner, r, out) for r in results]
    if json_:
        output.emit_json(rows)
    else:
        output.table(rows, ["line", "image", "task", "state", "error", "files"])
    if any(r["state"] not in ("succeeded", "skipped") for r in rows):
        raise typer.Exit(1)


def _batch_row(runner: Lifecycle, result: Any, out: Path | None) -> dict[str, Any]:
    from liveai.generation import get_task
    from liveai.scripting import save_result

    files = None
    if out is not None and result.task_id is not None:
        with runner.database.transaction() as session:
            task = get_task(session, result.task_id)
            saved = save_result(runner.storage, task, out, f"{result.item.image.stem}-{task.id}")
        files = [str(path) for path in saved] if saved else None
    return {
        "line": result.item.line,
        "image": str(result.item.image),
        "task": str(result.task_id) if result.task_id else None,
        "state": result.state,
        "error": result.error,
        "files": files,
    }


def _dry_run(runner: Lifecycle, owner: uuid.UUID, items: list[Any], json_: bool) -> None:
    from liveai.errors import ExitCode
    from liveai.generation.batch_plan import plan_batch

    plan = plan_batch(runner, owner, items)
    if json_:
        output.emit_json(plan.to_dict())
    else:
        output.table([vars(i) for i in plan.items], ["line", "image", "price", "state", "problem"])
        verdict = "can be paid" if plan.payable else "cannot be paid"
        output.info(f"total {plan.total} credits, {plan.available} available: {verdict}")
    if not plan.payable:
        raise typer.Exit(int(ExitCode.INSUFFICIENT_CREDITS))
    if not plan.valid:
        raise typer.Exit(int(ExitCode.USAGE))


@contextmanager
def _bar(total: int, *, enabled: bool) -> Iterator[Callable[[Any], None]]:
    """One progress bar on stderr for the whole batch: done, refused apart, time left."""
    if not (enabled and output.stderr().is_interactive):
        yield lambda _: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[refused]} refused"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=output.stderr(), transient=True) as progress:
        bar = progress.add_task("generating", total=total, refused=0)
        refused = 0

        def advance(result: Any) -> None:
            nonlocal refused
            refused += result.state == "refused"
            progress.update(bar, advance=1, refused=refused)

        yield advance
