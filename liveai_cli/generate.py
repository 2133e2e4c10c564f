"""liveai generate: turn a photo (or a manifest of them) into videos."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveai_cli import choices, output, state
from liveai_cli.app import AliasGroup, App
from liveai_cli.groups import summary
from liveai_cli.infiles import read_bytes

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.orm import Session

    from liveai.generation import Lifecycle
    from liveai.generation.batch import Item, ItemResult
    from liveai.models import User
    from liveai_cli.progress import Advance

DEFAULT_COMMAND = "image"


class _ImageByDefault(AliasGroup):
    """`liveai generate PHOTO` is short for `liveai generate image PHOTO`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = App(
    cls=_ImageByDefault,
    help=summary("generate") + "\n\nExample: liveai generate --sample",
)

OwnerOption = Annotated[
    str | None,
    typer.Option("--user", help="A user id or subject; default: the local developer user."),
]


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
@output.json_option
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
    user: OwnerOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the video and its poster.")] = Path("."),
    sample: Annotated[bool, typer.Option("--sample", help="Use a bundled sample photo.")] = False,
    live_photo: Annotated[
        bool,
        typer.Option(
            "--live-photo", help="Also write a Live Photo pair (ID-live.HEIC + ID-live.MOV)."
        ),
    ] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Queue it for a worker and return.")
    ] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Generate one video from a photo, showing its progress; save it and its poster.

    Example: liveai generate photo.jpg --prompt "waves roll in" --motion pan_left --out videos
    """
    from liveai.generation.sample import sample_photo
    from liveai_cli.outfiles import writable_folder
    from liveai_cli.service import interrupt_on_sigterm

    if (photo is None) == (not sample):
        raise typer.BadParameter("pass a PHOTO, or --sample for the bundled one")
    if live_photo and no_wait:
        raise typer.BadParameter(
            "--live-photo needs the result: leave out --no-wait, or run "
            "`liveai livephoto from-task TASK` once it is done"
        )
    data = sample_photo() if photo is None else read_bytes(photo)
    if not no_wait:
        writable_folder(out, "--out")
    stages = _Stages(enabled=not fmt.json)
    with state.lifecycle(stages) as runner, interrupt_on_sigterm():
        with stages:
            task_id = _queue(runner, data, prompt, motion, duration, provider, user)
            if not no_wait:
                _run_or_explain(runner, task_id)
        _finish(runner, task_id, None if no_wait else out, fmt, live_photo=live_photo)


def _run_or_explain(runner: Lifecycle, task_id: uuid.UUID) -> None:
    """Run the task; on Ctrl-C (or SIGTERM) say what was left and how to finish it."""
    from liveai.generation.interrupted import left_behind

    try:
        runner.run(task_id)
    except KeyboardInterrupt:
        raise left_behind(runner.database, task_id) from None


def _queue(
    runner: Lifecycle,
    data: bytes,
    prompt: str,
    motion: str,
    duration: int | None,
    provider: str | None,
    user: str | None,
) -> uuid.UUID:
    from liveai.generation import NewTask, create_task, parse_motion

    new = NewTask(data, prompt, parse_motion(motion), duration, provider)
    with runner.database.transaction() as session:
        owner, told = _owner(session, runner, user)
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
        task_id = task.id
    if told:
        output.info(told)
    return task_id


def _owner(session: Session, runner: Lifecycle, user: str | None) -> tuple[User, str | None]:
    """The user named, or the local developer user; when this made it, the line that says
    so, with the consents given for it (told once the transaction has committed)."""
    from liveai.generation import resolve_user
    from liveai.generation.developer import DEV_ISSUER
    from liveai.privacy.consents import current
    from liveai.users import find_identity

    settings = runner.settings
    new = user is None and find_identity(session, DEV_ISSUER, settings.default_user) is None
    owner = resolve_user(session, settings, user, clock=runner.clock)
    if not new:
        return owner, None
    given = ", ".join(s.name for s in current(session, owner.id)) or "none"
    return owner, f"created the local developer user {owner.id}; consents given: {given}"


def _finish(
    runner: Lifecycle, task_id: uuid.UUID, out: Path | None, fmt: output.Format, *, live_photo: bool
) -> None:
    from liveai.errors import ExitCode
    from liveai.generation import get_task, task_to_dict, transfers_of
    from liveai.scripting import save_result

    with runner.database.transaction() as session:
        task = get_task(session, task_id)
        shown = task_to_dict(task, transfers_of(session, task.id))
    files = save_result(runner.storage, task, out, str(task.id)) if out is not None else None
    if files:
        shown["files"] = [str(path) for path in files]
        if live_photo and out is not None:
            shown["files"] += _live_photo(runner, task_id, out)
    if fmt.json:
        output.emit(shown, fmt)
    else:
        keys = ("id", "state", "provider", "charged", "error", "files")
        output.fields({k: shown[k] for k in keys if shown.get(k) is not None})
    if shown["state"] in ("failed", "cancelled"):
        raise typer.Exit(int(ExitCode.UPSTREAM if shown["state"] == "failed" else 1))


def _live_photo(runner: Lifecycle, task_id: uuid.UUID, out: Path) -> list[str]:
    from liveai.generation import get_task
    from liveai.livephoto.from_task import pair_from_task

    with runner.database.transaction() as session:
        pair = pair_from_task(session, runner.storage, get_task(session, task_id), out)
    return [str(pair.still), str(pair.video)]


@app.command("batch")
@output.json_option
def batch(
    manifest: Annotated[
        Path, typer.Argument(help="CSV with a header, or JSON Lines: image, prompt, motion, ...")
    ],
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tasks at once.")] = 4,
    user: OwnerOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Save each video and poster here as PHOTO-TASKID.mp4/.jpg, and the Live Photo "
            "pair of live_photo lines."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Validate and price every line; exit 5 if the balance is short."
        ),
    ] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Run every line of a manifest concurrently; lines already done are skipped on a rerun.


    Example: liveai generate batch shots.csv --concurrency 8 --out videos
    """
    from liveai.generation.batch import read_manifest
    from liveai_cli import progress
    from liveai_cli.outfiles import writable_folder
    from liveai_cli.service import interrupt_on_sigterm

    items = read_manifest(manifest)
    if out is None and any(item.live_photo for item in items):
        from liveai.errors import InvalidInput

        raise InvalidInput("the manifest asks for Live Photos", hint="pass --out DIR for the pairs")
    if out is not None and not dry_run:
        writable_folder(out, "--out")
    with state.lifecycle() as runner, interrupt_on_sigterm():
        with runner.database.transaction() as session:
            owner_user, told = _owner(session, runner, user)
            owner = owner_user.id
        if told:
            output.info(told)
        if dry_run:
            _dry_run(runner, owner, items, fmt)
            return
        with progress.tasks_bar("generating", total=len(items), enabled=not fmt.json) as counted:
            results = _run_batch(runner, owner, items, concurrency, counted)
        rows = [_batch_row(runner, r, out) for r in results]
    if fmt.json:
        output.emit(rows, fmt)
    else:
        output.table(rows, ["line", "image", "task", "state", "error", "files"])
    if any(r["state"] not in ("succeeded", "skipped") for r in rows):
        raise typer.Exit(1)


def _run_batch(
    runner: Lifecycle, owner: uuid.UUID, items: list[Item], concurrency: int, counted: Advance
) -> list[ItemResult]:
    from liveai.generation.batch import run_batch

    try:
        return run_batch(
            runner,
            owner,
            items,
            concurrency=concurrency,
            actor=state.actor(),
            on_item=lambda result: counted(result.state),  # refusals counted apart
        )
    except KeyboardInterrupt:
        from liveai.stopping import Stopped

        raise Stopped(
            "interrupted: the unfinished lines stay queued with their credits held",
            hint="rerun the same command to finish them, or `liveai tasks cancel ID`",
        ) from None


def _batch_row(runner: Lifecycle, result: ItemResult, out: Path | None) -> dict[str, Any]:
    from liveai.generation import get_task
    from liveai.scripting import save_result

    files = None
    if out is not None and result.task_id is not None:
        with runner.database.transaction() as session:
            task = get_task(session, result.task_id)
            saved = save_result(runner.storage, task, out, f"{result.item.image.stem}-{task.id}")
        files = [str(path) for path in saved] if saved else None
        if files and result.item.live_photo:
            files += _live_photo(runner, result.task_id, out)
    return {
        "line": result.item.line,
        "image": str(result.item.image),
        "task": str(result.task_id) if result.task_id else None,
        "state": result.state,
        "error": result.error,
        "files": files,
    }


def _dry_run(runner: Lifecycle, owner: uuid.UUID, items: list[Item], fmt: output.Format) -> None:
    from liveai.errors import ExitCode
    from liveai.generation.batch_plan import plan_batch

    plan = plan_batch(runner, owner, items)
    if fmt.json:
        output.emit(plan.to_dict(), fmt)
    else:
        output.table(
            [asdict(i) for i in plan.items], ["line", "image", "price", "state", "problem"]
        )
        verdict = "can be paid" if plan.payable else "cannot be paid"
        output.info(f"total {plan.total} credits, {plan.available} available: {verdict}")
    if not plan.payable:
        raise typer.Exit(int(ExitCode.INSUFFICIENT_CREDITS))
    if not plan.valid:
        raise typer.Exit(int(ExitCode.USAGE))
