"""liveai worker: run queued generation tasks until stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import output


def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Tasks at once.")] = 4,
    once: Annotated[
        bool, typer.Option("--once", help="Stop when no task is left instead of waiting.")
    ] = False,
    idle: Annotated[float, typer.Option(min=0.1, help="Seconds between looks when idle.")] = 2.0,
) -> None:
    """Claim and run generation tasks; any number of workers on any number of machines.

    On PostgreSQL workers claim with FOR UPDATE SKIP LOCKED and a lease, so no task ever
    runs twice. After Ctrl-C or a crash, tasks in flight are picked up again (by any
    worker or `liveai tasks resume`) once their lease expires (LIVEAI_GENERATION_LEASE_S).

    Example: liveai worker --concurrency 8
    """
    from liveai.generation import work
    from liveai_cli.generate import lifecycle

    def finished(task_id: object, state: str) -> None:
        output.info(f"task {task_id} {state}")

    with lifecycle() as runner:
        report = work(runner, concurrency=concurrency, once=once, idle_s=idle, on_task=finished)
    output.info(f"worker done: {report.total} task(s) finished")
    for line in report.errors:
        output.warn(line)
