"""liveai worker: run queued generation tasks until stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from liveai_cli import output, state

if TYPE_CHECKING:
    from liveai.generation import Lifecycle, WorkReport
    from liveai.generation.transitions import Observer


def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Tasks at once.")] = 4,
    once: Annotated[
        bool, typer.Option("--once", help="Stop when no task is left instead of waiting.")
    ] = False,
    idle: Annotated[float, typer.Option(min=0.1, help="Seconds between looks when idle.")] = 2.0,
    grace: Annotated[
        float,
        typer.Option(min=0, help="On SIGTERM/SIGINT: seconds to finish tasks before handing back."),
    ] = 30.0,
    max_tasks: Annotated[
        int | None, typer.Option(min=1, help="Drain and exit 0 after claiming this many tasks.")
    ] = None,
    max_seconds: Annotated[
        float | None, typer.Option(min=1, help="Drain and exit 0 after running this long.")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Serve Prometheus metrics on 127.0.0.1:PORT."),
    ] = None,
) -> None:
    """Claim and run generation tasks; any number of workers on any number of machines.

    On PostgreSQL workers claim with FOR UPDATE SKIP LOCKED and a lease, so no task ever
    runs twice. A starting worker takes over at once the tasks of runners on this host
    whose process is gone; others are picked up when their lease lapses
    (LIVEAI_GENERATION_LEASE_S). SIGTERM or Ctrl-C drains: no new tasks, running ones
    finish within --grace or are handed back, exit 0; a second signal hands back at once.
    The worker rides out a database outage and exits 1 after LIVEAI_WORKER_DB_GIVE_UP_S.

    Example: liveai worker --concurrency 8 --grace 60 --metrics-port 9464
    """
    import threading

    from liveai.generation import work
    from liveai.generation.worker import Limits
    from liveai_cli import logs, progress
    from liveai_cli.service import drain_on_signals

    logs.service_mode()
    limits = Limits(max_tasks=max_tasks, max_seconds=max_seconds, grace_s=grace)
    stop = threading.Event()
    with state.lifecycle() as runner, drain_on_signals(stop) as received:
        _banner(runner, concurrency, grace)
        observers = [_metrics(runner, metrics_port)] if metrics_port else []
        with progress.tasks_bar("running tasks", enabled=once) as advance:
            report = work(
                runner,
                concurrency=concurrency,
                once=once,
                idle_s=idle,
                stop=stop,
                limits=limits,
                observers=observers,
                on_task=lambda task_id, state: advance(state),
            )
    _close(report, received)


def _banner(runner: Lifecycle, concurrency: int, grace: float) -> None:
    import logging

    from liveai.providers.registry import candidates

    settings = runner.settings
    url = runner.database.engine.url.render_as_string(hide_password=True)
    storage = (
        f"s3 bucket {settings.s3_bucket}"
        if settings.storage == "s3"
        else f"local {settings.resolved_storage_dir}"
    )
    providers = ", ".join(candidates(runner.providers, settings)) or "none"
    logging.getLogger("liveai.worker").info(
        "worker starting: database %s; storage %s; providers %s; concurrency %d; "
        "lease %d s; grace %g s",
        url,
        storage,
        providers,
        concurrency,
        settings.generation_lease_s,
        grace,
    )


def _metrics(runner: Lifecycle, port: int) -> Observer:
    import logging

    from liveai.errors import InvalidInput
    from liveai.metrics import WorkerMetrics

    metrics = WorkerMetrics(runner.database)
    try:
        metrics.serve(port)
    except OSError as exc:
        raise InvalidInput(
            f"cannot serve metrics on port {port}: {exc.strerror}", hint="pick a free port"
        ) from None
    logging.getLogger("liveai.worker").info("metrics on http://127.0.0.1:%d/metrics", port)
    return metrics


def _close(report: WorkReport, received: list[str]) -> None:
    """The closing lines; exit 1 when the worker gave up (a requested stop is a success)."""
    for task_id in report.taken_over:
        output.info(f"took over task {task_id}: its runner's process is gone")
    why = (
        f" on {received[0]}" if received else f" ({report.stopped_by})" if report.stopped_by else ""
    )
    back = f", {len(report.handed_back)} handed back" if report.handed_back else ""
    output.info(f"worker stopped{why}: {report.total} task(s) finished{back}")
    for line in report.errors:
        output.warn(line)
    if report.gave_up:
        output.error(f"worker gave up: {report.gave_up}")
        raise typer.Exit(1)
