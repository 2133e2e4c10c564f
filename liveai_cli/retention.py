"""liveai retention: delete uploads, nginx logs and kept records whose retention has ended."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

if TYPE_CHECKING:
    from datetime import datetime

app = App(help=summary("retention"))

SweepDryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Report what would go; delete nothing.")
]
NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="Judge as of this moment: a date, a local time or an ISO time with zone.",
    ),
]


def _now(value: str | None) -> datetime:
    if value is None:
        from liveai.clock import SYSTEM_CLOCK

        return SYSTEM_CLOCK.now()
    state.deadlines()
    return state.moment(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@app.command("sweep")
@output.json_option
def sweep(
    dry_run: SweepDryRunOption = False,
    now: NowOption = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 when anything is overdue.")] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Delete uploaded photos past their delete-after time (never result videos).

    Safe to run from several machines at once; rerun after a crash to finish.

    Example: liveai retention sweep --dry-run --json
    """
    from liveai.retention.uploads import sweep_uploads
    from liveai.storage import open_storage
    from liveai_cli import progress

    settings = state.settings()
    with (
        state.database() as database,
        progress.step("sweeping uploads", enabled=not fmt.json) as say,
    ):
        report = sweep_uploads(
            database,
            open_storage(settings),
            dry_run=dry_run,
            now=_now(now),
            on_batch=lambda removed: say(f"{removed} removed"),
        )
    shown = {
        "dry_run": report.dry_run,
        "now": _iso(report.now),
        "removed": report.removed,
        "bytes_removed": report.bytes_removed,
        "batches": report.batches,
        "partial_removed": report.partial_removed,
        "failed": [{"key": k, "reason": r} for k, r in report.failed],
        "late": report.late,
        "overdue_left": report.overdue_left,
        "next_due": _iso(report.next_due),
        "warnings": report.warnings,
    }
    _render(shown, fmt)
    _warn_and_exit(report.warnings, strict=strict, failed=bool(report.failed))


@app.command("logs")
@output.json_option
def logs(
    dir_: Annotated[Path, typer.Option("--dir", help="The nginx log folder.")],
    days: Annotated[
        int | None, typer.Option(min=1, help="Retention in days (default: the policy's).")
    ] = None,
    dry_run: SweepDryRunOption = False,
    now: NowOption = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Delete rotated nginx access logs whose newest entry is older than the retention.

    Ages come from the timestamps inside each file (plain or gzip); the live log is never
    touched.

    Example: liveai retention logs --dir /var/log/nginx --dry-run
    """
    from liveai.errors import InvalidInput
    from liveai.retention.nginx_logs import sweep_logs

    if not dir_.is_dir():
        raise InvalidInput(f"{dir_} is not a folder", hint="pass the nginx log folder with --dir")
    from liveai_cli import progress

    settings = state.settings()
    retention = days or settings.log_retention_days
    with progress.step(f"sweeping {dir_}", enabled=not fmt.json) as say:
        report = sweep_logs(
            dir_,
            days=retention,
            now=_now(now),
            dry_run=dry_run,
            log_format=settings.nginx_log_format,
            on_file=lambda done, total: say(f"file {done} of {total}"),
        )
    shown = {
        "dry_run": report.dry_run,
        "cutoff": _iso(report.cutoff),
        "removed": [{"file": str(f.path), "newest": _iso(f.newest)} for f in report.removed],
        "bytes_removed": report.bytes_removed,
        "kept": [{"file": str(f.path), "newest": _iso(f.newest)} for f in report.kept],
        "unreadable": [str(f.path) for f in report.unreadable],
        "live": [str(p) for p in report.live],
    }
    _render(shown, fmt)
    for entry in report.unreadable:
        output.warn(f"{entry.path} has no readable timestamp; kept, check it by hand")


@app.command("records")
@output.json_option
def records(
    dry_run: SweepDryRunOption = False,
    now: NowOption = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """End kept records whose legal period (years in the operator facts) has passed.

    Closed requests and an erased account's consent records are deleted; an erased
    account's purchases are deleted and its ledger transfers keep only their amounts, so
    the ledger still reconciles. Rerun after a crash to finish.

    Example: liveai retention records --dry-run --json
    """
    from liveai.privacy.facts import load_facts
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.retention.records import sweep_records

    settings = state.settings()
    facts = load_facts(settings.policy_facts_file, DEFAULT_INVENTORY)
    with state.database() as database:
        report = sweep_records(database, facts, now=_now(now), dry_run=dry_run, actor=state.actor())
    _render(report.to_dict(), fmt)
    _warn_and_exit(report.warnings, strict=False, failed=False)


@app.command("logrotate-config")
def logrotate_config(
    log_glob: Annotated[str, typer.Option(help="Which logs.")] = "/var/log/nginx/*.log",
) -> None:
    """Print an nginx logrotate configuration that matches the policy's log retention.

    Example: liveai retention logrotate-config > /etc/logrotate.d/nginx
    """
    from liveai.retention.nginx_logs import logrotate_config as render

    output.text(render(days=state.settings().log_retention_days, log_glob=log_glob).rstrip())


@app.command("status")
@output.list_options
def status(
    log_dir: Annotated[
        Path | None, typer.Option(help="Also report the nginx logs in this folder.")
    ] = None,
    now: NowOption = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Per category: its retention, how much is held, what is due next, what is overdue.

    Example: liveai retention status --log-dir /var/log/nginx --json
    """
    from liveai.privacy.facts import load_facts
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.retention.status import retention_status

    settings = state.settings()
    facts = load_facts(settings.policy_facts_file, DEFAULT_INVENTORY)
    with state.session() as session:
        found = retention_status(session, settings, _now(now), log_dir=log_dir, facts=facts)
        rows = [c.as_dict() for c in found]
    output.emit(rows, fmt, ["category", "retention", "held", "held_bytes", "next_due", "overdue"])


def _render(shown: dict[str, Any], fmt: output.Format) -> None:
    if fmt.json:
        output.emit(shown, fmt)
    else:
        output.fields({k: v for k, v in shown.items() if k != "warnings"})


def _warn_and_exit(warnings: list[str], *, strict: bool, failed: bool) -> None:
    for warning in warnings:
        output.warn(warning)
    if failed or (strict and warnings):
        raise typer.Exit(1)
