"""liveai calendar: mainland working-day deadlines and the state of the holiday data."""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import choices, output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("calendar"))


@app.command("due")
@output.json_option
def due(
    received: Annotated[str, typer.Argument(help="The day the request was received, YYYY-MM-DD.")],
    days: Annotated[
        int | None,
        typer.Option(min=1, max=366, help="Working days allowed (default: the policy's SLA)."),
    ] = None,
    region: Annotated[
        choices.Jurisdiction, typer.Option(help="cn, or eu to apply the GDPR month too.")
    ] = "cn",
    fmt: output.Format = output.HUMAN,
) -> None:
    """The due date of a request received on DATE (the day of receipt is not counted).

    Example: liveai calendar due 2026-09-14 --json
    """
    from liveai.privacy.calendar import due_date
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.requests import JURISDICTIONS, _choice

    _choice(region, JURISDICTIONS, "the region")
    state.deadlines()
    result = due_date(
        state.day(received),
        working_days=days or DEFAULT_INVENTORY.sla_working_days,
        region="eu" if region == "eu" else "cn",
    )
    if fmt.json:
        output.emit(result.as_dict(), fmt)
        return
    output.fields(result.as_dict())
    if result.provisional:
        output.warn("provisional: next year's official holiday arrangement is not loaded yet")


@app.command("status")
@output.json_option
def status(
    today: Annotated[str | None, typer.Option(help="Pretend today is this date.")] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 when there is a warning.")] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Which calendar file is in force and which years' official arrangements are loaded;
    warns from November when next year is missing.

    Example: liveai calendar status --strict
    """

    from liveai.privacy.calendar import calendar_status

    state.deadlines()
    day = state.day(today) if today else state.today()
    report = calendar_status(day)
    shown = {
        "today": report.today.isoformat(),
        "known_years": report.known_years,
        "missing_next_year": report.missing_next_year,
        "calendar_version": report.calendar_version,
        "calendar_file": report.calendar_file,
        "warning": report.warning,
    }
    output.emit(shown, fmt)
    if report.warning:
        output.warn(report.warning)
        if strict:
            raise typer.Exit(1)
