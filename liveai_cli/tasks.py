"""liveai tasks: list, show, cancel, resume and delete generation tasks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from liveai_cli import choices, output, state
from liveai_cli.app import App
from liveai_cli.complete import task_ids
from liveai_cli.groups import summary
from liveai_cli.options import YesOption

if TYPE_CHECKING:
    from datetime import datetime

app = App(help=summary("tasks"))

TaskArg = Annotated[
    str,
    typer.Argument(help="A task id, or a unique prefix of 6+ characters.", autocompletion=task_ids),
]


@app.command("list")
@output.list_options
def list_(
    user: Annotated[str | None, typer.Option(help="Only this user's (id or subject).")] = None,
    state_: Annotated[
        choices.TaskState | None, typer.Option("--state", help="Only tasks in this state.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List tasks, newest first (deleted works are not listed).

    Example: liveai tasks list --state failed --json
    """
    from liveai.generation import list_tasks, task_to_dict
    from liveai.models import TaskState
    from liveai.users import get_user

    wanted = TaskState(state_) if state_ else None
    with state.session() as session:
        owner = get_user(session, user).id if user else None
        rows = [
            task_to_dict(t) for t in list_tasks(session, user_id=owner, state=wanted, limit=limit)
        ]
    columns = ["id", "state", "provider", "created_at", "charged", "motion", "duration_s"]
    output.emit(rows, fmt, columns, empty="no tasks (drop --state or --user to see more)")


@app.command("show")
@output.json_option
def show(task: TaskArg, fmt: output.Format = output.HUMAN) -> None:
    """Show one task, with where its photo was sent.

    Example: liveai tasks show 7d0c6f7e-1f0e-4a43-9d3b-2f6f1b9c2a10 --json
    """
    from liveai.generation import get_task, task_to_dict, transfers_of

    with state.session() as session:
        found = get_task(session, task)
        shown = task_to_dict(found, transfers_of(session, found.id))
    if not found.state.terminal:
        shown["lease_owner"] = found.lease_owner
        shown["lease_until"] = found.lease_until.isoformat() if found.lease_until else None
    output.emit(shown, fmt)


@app.command("cancel")
@output.json_option
def cancel(task: TaskArg, fmt: output.Format = output.HUMAN) -> None:
    """Cancel a task: whoever runs it stops it upstream and the credits are returned.

    A task nobody runs (or whose runner is gone) is cancelled here and now; a running one
    is stopped by its runner at its next look at the task, within seconds.

    Example: liveai tasks cancel 7d0c6f7e-1f0e-4a43-9d3b-2f6f1b9c2a10
    """
    from liveai.clock import SYSTEM_CLOCK
    from liveai.generation import request_cancel
    from liveai.generation.runners import is_gone

    with state.session() as session:
        found = request_cancel(session, task, clock=SYSTEM_CLOCK, actor=state.actor())
        task_id, owner, until = found.id, found.lease_owner, found.lease_until
    now = SYSTEM_CLOCK.now()
    running = until is not None and _aware(until) > now and not (owner and is_gone(owner))
    if not running:
        # Nobody runs it right now: settle the cancellation here.
        from liveai.generation.takeover import take_over

        with state.lifecycle() as runner:
            take_over(runner.database, runner.clock)
            runner.run(task_id)
    if fmt.json:
        _emit_task(task_id, fmt)
    elif not running:
        output.info(f"task {task_id} cancelled; its credits are released")
    else:
        assert until is not None
        output.info(
            f"task {task_id} cancel requested: its runner {owner} stops it and releases the "
            f"credits at its next look (within seconds), or it is cancelled by whoever takes "
            f"it over once the lease ends at {_aware(until):%H:%M:%S} UTC"
        )


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _emit_task(task_id: object, fmt: output.Format) -> None:
    from liveai.generation import get_task, task_to_dict

    with state.session() as session:
        output.emit(task_to_dict(get_task(session, str(task_id), include_deleted=True)), fmt)


@app.command("download")
@output.list_options
def download(
    tasks: Annotated[
        list[str],
        typer.Argument(help="Task ids or unique prefixes.", autocompletion=task_ids),
    ],
    out: Annotated[Path, typer.Option(help="Folder for the videos and posters.")] = Path("."),
    fmt: output.Format = output.HUMAN,
) -> None:
    """Save finished tasks' videos and posters from storage into a folder (TASKID.mp4/.jpg).


    Example: liveai tasks download 7d0c6f7e 2e72b7e3 --out videos
    """
    from liveai.generation import get_task
    from liveai.scripting import save_result
    from liveai.storage import open_storage

    storage = open_storage(state.settings())
    rows = []
    with state.session() as session:
        for ref in tasks:
            task = get_task(session, ref)
            files = save_result(storage, task, out, str(task.id))
            video, poster = (str(files[0]), str(files[1])) if files else (None, None)
            rows.append(
                {"id": str(task.id), "state": task.state.value, "video": video, "poster": poster}
            )
    output.emit(rows, fmt, ["id", "state", "video", "poster"])
    missing = [str(row["id"]) for row in rows if row["video"] is None]
    if missing:
        output.error(f"no video stored for {', '.join(missing)} (see `liveai tasks show ID`)")
        raise typer.Exit(1)


@app.command("resume")
@output.json_option
def resume(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tasks at once.")] = 4,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for live runners' leases to lapse, then finish.")
    ] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Finish every unfinished task nobody is running (after a crash, or queued ones).

    Tasks whose runner is provably gone (this host, its process ended) are taken over at
    once; tasks leased by live runners elsewhere are listed with the time their lease
    ends, and left to them (--wait: finished here if their lease lapses).

    Example: liveai tasks resume --wait
    """
    from liveai.generation.resume import resume_all
    from liveai_cli import progress

    with (
        state.lifecycle() as runner,
        progress.tasks_bar("resuming tasks", enabled=not fmt.json) as step,
    ):
        result = resume_all(runner, concurrency=concurrency, wait=wait, on_task=step)
    report = result.report
    counts = ", ".join(f"{len(ids)} {state}" for state, ids in sorted(report.finished.items()))
    held = [
        {"task": str(h.task_id), "runner": h.owner, "lease_until": h.until.isoformat()}
        for h in result.held
    ]
    if fmt.json:
        output.emit(
            {
                "finished": report.finished,
                "errors": report.errors,
                "taken_over": [str(t) for t in result.taken_over],
                "held_elsewhere": held,
            },
            fmt,
        )
    else:
        for task_id in result.taken_over:
            output.info(f"took over task {task_id}: its runner's process is gone")
        output.info(f"resumed {report.total} task(s): {counts or 'nothing to do'}")
        for row in held:
            output.info(
                f"task {row['task']} is run by {row['runner']} (alive, or on another host); "
                f"its lease ends at {row['lease_until']}: rerun then, or pass --wait"
            )
        for line in report.errors:
            output.warn(line)
    if report.errors:
        raise typer.Exit(1)


@app.command("delete")
@output.json_option
def delete(
    task: TaskArg,
    yes: YesOption = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Delete a work for its user: the video, poster and photo go; the record is marked.

    Example: liveai tasks delete 7d0c6f7e-1f0e-4a43-9d3b-2f6f1b9c2a10 --yes
    """
    from liveai.clock import SYSTEM_CLOCK
    from liveai.generation import delete_task
    from liveai.storage import open_storage

    output.confirm(f"Delete task {task} and its video?", yes=yes)
    with state.session() as session:
        deleted = delete_task(
            session, open_storage(state.settings()), task, clock=SYSTEM_CLOCK, actor=state.actor()
        )
        deleted_id = deleted.id
    if fmt.json:
        _emit_task(deleted_id, fmt)
    else:
        output.info(f"task {deleted_id} deleted")
