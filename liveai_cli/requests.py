"""liveai requests: the register of data-subject requests and their deadlines."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveai_cli import choices, erasure, output, progress, state
from liveai_cli.app import App
from liveai_cli.complete import request_ids
from liveai_cli.groups import summary
from liveai_cli.options import DryRunOption, YesOption
from liveai_cli.outfiles import new_zip

if TYPE_CHECKING:
    from datetime import date

    from sqlalchemy.orm import Session

    from liveai.models import PrivacyRequest
    from liveai.privacy.fulfil import Work


app = App(help=summary("requests"))

IdArg = Annotated[
    str,
    typer.Argument(
        help="The request id, or a unique prefix of 6+ characters.", autocompletion=request_ids
    ),
]


def _show(request: PrivacyRequest, fmt: output.Format) -> None:
    from liveai.privacy.requests import RequestView

    shown = RequestView(request, state.today()).as_dict()
    if fmt.json:
        output.emit(shown, fmt)
        return
    for name in ("received_at", "completed_at"):
        shown[name] = _in_deadline_zone(shown[name])
    output.fields(shown)


@app.command("open")
@output.json_option
def open_(
    user: Annotated[
        str, typer.Option(help="The subject: a user id, a bound subject or an e-mail.")
    ],
    kind: Annotated[choices.RequestKind, typer.Option(help="What the subject asks for.")],
    received: Annotated[
        str,
        typer.Option(
            help="When it arrived: a date, a local time (the deadline zone) or ISO with zone."
        ),
    ],
    channel: Annotated[choices.Channel, typer.Option(help="How it arrived.")],
    region: Annotated[
        choices.Jurisdiction, typer.Option(help="cn, or eu for a GDPR subject.")
    ] = "cn",
    fmt: output.Format = output.HUMAN,
) -> None:
    """Register a request; its due date is fixed from the day of receipt.

    Example: liveai requests open --user u_8f2 --kind deletion --received 2026-11-02 --channel email
    """
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.requests import open_request, parse_kind

    state.deadlines()
    with state.session() as session:
        request = open_request(
            session,
            user,
            kind=parse_kind(kind),
            received_at=state.moment(received),
            channel=channel,
            region=region,
            working_days=DEFAULT_INVENTORY.sla_working_days,
            actor=state.actor(),
        )
        _show(request, fmt)


# By value, the least useful right-most: a narrow terminal drops columns from the right.
LIST_COLUMNS = (
    "id",
    "subject",
    "kind",
    "state",
    "due",
    "overdue",
    "working_days_left",
    "received",
    "channel",
    "region",
)


@app.command("list")
@output.list_options
def list_(
    overdue: Annotated[bool, typer.Option(help="Only open requests past their due date.")] = False,
    due_within: Annotated[
        int | None, typer.Option(min=0, help="Only open requests due within DAYS days.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include completed and refused.")] = False,
    strict: Annotated[
        bool,
        typer.Option(help="Exit 1 when a request is overdue (or due within --due-within days)."),
    ] = False,
    reveal: Annotated[
        bool, typer.Option(help="Show subjects' names and e-mails unmasked.")
    ] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List requests by due date (open ones unless --all); dates are in the deadline zone.

    Example: liveai requests list --due-within 5 --strict
    """
    from liveai.models import User
    from liveai.privacy.requests import RequestView, list_requests
    from liveai.privacy.subjects import subject_label

    state.deadlines()
    today = state.today()
    with state.session() as session:
        found = list_requests(
            session, today=today, overdue=overdue, due_within_days=due_within, include_closed=all_
        )
        rows = []
        for request in found:
            row = RequestView(request, today).as_dict()
            row["subject"] = subject_label(session.get(User, request.user_id), reveal=reveal)
            rows.append(row)
    alarming = [r for r in rows if _alarming(r, today, due_within)]
    empty = "no requests" if all_ else "no open requests (use --all for closed ones)"
    if fmt.json:
        output.emit(rows, fmt, empty=empty)
    else:
        shown = [_register_row(r, plain=fmt.name == "csv") for r in rows]
        output.emit(shown, fmt, LIST_COLUMNS, empty=empty)
    if strict and alarming:
        output.error(f"{len(alarming)} request(s) overdue or due soon")
        raise typer.Exit(1)


def _alarming(row: dict[str, Any], today: date, due_within: int | None) -> bool:
    from datetime import date, timedelta

    if row["days_left"] is None:
        return False
    if row["overdue"]:
        return True
    return due_within is not None and date.fromisoformat(row["due_on"]) <= today + timedelta(
        days=due_within
    )


def _register_row(row: dict[str, Any], *, plain: bool) -> dict[str, Any]:
    """A register line for people (times in the deadline zone, named) or for CSV (exact)."""
    mark: str | bool = row["overdue"] if plain else ("OVERDUE" if row["overdue"] else "")
    return {
        **row,
        "received": row["received_at"] if plain else _in_deadline_zone(row["received_at"]),
        "due": row["due_on"] + (" (provisional)" if row["due_provisional"] else ""),
        "overdue": mark,
    }


@app.command("show")
@output.json_option
def show(request_id: IdArg, fmt: output.Format = output.HUMAN) -> None:
    """Show one request with its deadline and state.

    Example: liveai requests show 5f0c8a --json
    """
    from liveai.privacy.requests import get_request

    state.deadlines()
    with state.session() as session:
        _show(get_request(session, request_id), fmt)


@app.command("verify")
@output.json_option
def verify(
    request_id: IdArg,
    note: Annotated[
        str | None, typer.Option(help="How identity was checked by hand (manual verification).")
    ] = None,
    token: Annotated[
        bool,
        typer.Option(
            "--token",
            help="Read the user's JWT from standard input and verify it (never a flag value).",
        ),
    ] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Mark the requester's identity as verified: by the user's valid JWT or by a note.

    Example: echo "$JWT" | liveai requests verify 5f0c8a --token
    """
    from liveai.errors import InvalidInput
    from liveai.privacy.requests import get_request, verify_manually

    if (note is None) == (not token):
        raise InvalidInput("pass exactly one of --token (JWT on stdin) or --note TEXT")
    with state.session() as session:
        request = get_request(session, request_id)
        if note is not None:
            verify_manually(session, request, note, actor=state.actor())
        else:
            _verify_token(session, request)
        _done(request, "verified", fmt)


def _done(request: PrivacyRequest, what: str, fmt: output.Format) -> None:
    """The request a write command changed: as JSON, or one line on stderr."""
    if fmt.json:
        _show(request, fmt)
    else:
        output.info(f"request {request.id} {what}")


def _verify_token(session: Session, request: PrivacyRequest) -> None:
    import sys

    import httpx

    from liveai.errors import InvalidInput
    from liveai.identity.tokens import authenticate, verifier_from_settings
    from liveai.privacy.requests import verify_with_subject

    token = sys.stdin.read().strip()
    if not token:
        raise InvalidInput(
            "no token on standard input", hint='echo "$JWT" | liveai requests verify ID --token'
        )
    with httpx.Client(timeout=15.0) as http:
        verifier = verifier_from_settings(state.settings(), http=http)
        principal = authenticate(session, token, verifier=verifier)
    verify_with_subject(session, request, principal.user.id, actor=state.actor())


@app.command("refuse")
@output.json_option
def refuse(
    request_id: IdArg,
    reason: Annotated[str, typer.Option(help="Why (told to the subject).")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Refuse a request, with the reason the subject will be told (PIPL art. 50).

    Example: liveai requests refuse 5f0c8a --reason "identity could not be verified"
    """
    from liveai.privacy.requests import get_request
    from liveai.privacy.requests import refuse as refuse_request

    with state.session() as session:
        request = refuse_request(
            session, get_request(session, request_id), reason, actor=state.actor()
        )
        _done(request, "refused", fmt)


@app.command("extend")
@output.json_option
def extend(
    request_id: IdArg,
    reason: Annotated[str, typer.Option(help="Why (told to the subject).")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Extend a GDPR request by two months (only within its first month, with a reason).

    Example: liveai requests extend 5f0c8a --reason "hundreds of works to collect"
    """
    from liveai.privacy.requests import extend as extend_request
    from liveai.privacy.requests import get_request

    with state.session() as session:
        request = extend_request(
            session, get_request(session, request_id), reason, actor=state.actor()
        )
        _done(request, f"extended to {request.due_on}", fmt)


@app.command("run")
@output.json_option
def run(
    request_id: IdArg,
    out: Annotated[
        Path | None, typer.Option(help="For an export: where to write the zip bundle.")
    ] = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Carry out a verified request: an export writes the bundle; a deletion or guardian
    request erases the account (rerun to finish after a crash). The request is then
    completed, or awaits the steps left to do by hand (`requests steps`).

    Example: liveai requests run 5f0c8a --yes
    """
    from liveai.privacy.fulfil import check_work

    state.deadlines()
    with state.session() as session:
        work = check_work(session, request_id, out=out, dry_run=dry_run)
    if work.exports:
        _run_export(work, out, dry_run, fmt)
    else:
        _run_erasure(work, dry_run, yes, fmt)


def _run_export(work: Work, out: Path | None, dry_run: bool, fmt: output.Format) -> None:
    from liveai.privacy.fulfil import carry_out
    from liveai.storage import open_storage

    if dry_run or out is None:
        output.info(f"would export user {work.user_id} to {out}")
        return
    new_zip(out, "--out")
    settings = state.settings()
    with (
        state.database() as database,
        progress.step(f"exporting to {out}", enabled=not fmt.json),
    ):
        done = carry_out(
            database,
            work,
            storage=open_storage(settings),
            settings=settings,
            out=out,
            actor=state.actor(),
        )
    assert done.manifest is not None and done.request is not None
    output.done(asdict(done.manifest), fmt, f"wrote {out} ({len(done.manifest.files)} files)")
    _say_completed(done.request)


def _run_erasure(work: Work, dry_run: bool, yes: bool, fmt: output.Format) -> None:
    from liveai.privacy.fulfil import carry_out

    if dry_run:
        with erasure.services() as reach:
            erasure.show_plan(reach, work.target, fmt)
        return
    output.confirm(
        f"Erase user {work.user_id} from every store for request {work.request_id}? "
        "This cannot be undone.",
        yes=yes,
    )
    with (
        erasure.services() as reach,
        progress.step(f"erasing user {work.user_id}", enabled=not fmt.json),
    ):
        done = carry_out(
            reach.database,
            work,
            storage=reach.storage,
            settings=reach.settings,
            upstream=reach.upstream,
            actor=state.actor(),
            task_wait_s=reach.task_wait_s,
        )
    assert done.run is not None
    erasure.report(done.run, work.request_id, fmt)


def _in_deadline_zone(utc: str | None) -> str | None:
    """A JSON (UTC) time as people read the register: in the deadline zone, named."""
    from liveai.privacy.calendar import deadline_zone
    from liveai_cli.cells import zoned

    return zoned(utc, deadline_zone()) if utc else None


def _say_completed(request: PrivacyRequest) -> None:
    if request.on_time is False:
        output.warn(
            f"request {request.id} completed late: on {request.completed_on}, due {request.due_on}"
        )
    else:
        output.info(f"request {request.id} completed")


@app.command("complete")
@output.json_option
def complete_(
    request_id: IdArg,
    note: Annotated[
        str | None, typer.Option(help="What was done, or why it was late (for the report).")
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Mark a verified request completed after doing it by hand (a correction, an objection).

    Example: liveai requests complete 5f0c... --note "display name corrected"
    """
    from liveai.privacy.requests import complete, get_request

    state.deadlines()
    with state.session() as session:
        request = complete(
            session, get_request(session, request_id), note=note, actor=state.actor()
        )
        _say_completed(request)
        if fmt.json:
            _show(request, fmt)


@app.command("steps")
@output.list_options
def steps(request_id: IdArg, fmt: output.Format = output.HUMAN) -> None:
    """The steps a request leaves to do by hand, open or confirmed.

    Example: liveai requests steps 5f0c...
    """
    from liveai.privacy.requests import get_request
    from liveai.privacy.steps import list_steps, step_to_dict

    state.deadlines()
    with state.session() as session:
        request = get_request(session, request_id)
        rows = [step_to_dict(n, s) for n, s in enumerate(list_steps(session, request), start=1)]
    if not fmt.json and fmt.name != "csv":
        rows = [{**r, "confirmed_at": _in_deadline_zone(r["confirmed_at"])} for r in rows]
    columns = ["step", "key", "open", "description", "confirmed_at", "note"]
    output.emit(rows, fmt, columns, empty=f"no steps by hand for request {request_id}")


@app.command("confirm")
@output.json_option
def confirm(
    request_id: IdArg,
    step: Annotated[str, typer.Argument(help="The step's key (e.g. apple) or number.")],
    note: Annotated[str, typer.Option(help="What was done, by whom, how it was checked.")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Confirm a step done by hand; the last one completes the request.

    Example: liveai requests confirm 5f0c... apple --note "user revoked it; ticket 4411"
    """
    from liveai.privacy.requests import get_request
    from liveai.privacy.steps import confirm_step

    state.deadlines()
    with state.session() as session:
        request = get_request(session, request_id)
        confirmed = confirm_step(session, request, step, note, actor=state.actor())
        output.info(f"step {confirmed.key} of request {request.id} confirmed")
        if request.completed_at is not None:
            _say_completed(request)
        if fmt.json:
            _show(request, fmt)


@app.command("report")
def report(
    from_: Annotated[
        str | None, typer.Option("--from", help="First day of receipt (default: 90 days ago).")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Last day of receipt (default: today).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, csv or json.")] = "html",
    out: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """The deadline report: every request received in the period with its timeline, the
    on-time rate, days to complete per kind, late completions, extensions, refusals, open
    steps by hand, and what falls due in the next 15 working days. The HTML page is
    self-contained, with a calendar of due dates, requests per week and a timeline.

    Example: liveai requests report --from 2026-10-01 --out requests.html
    """
    from liveai.privacy.report import build_report, default_period
    from liveai.privacy.report_render import FORMATS, render_report
    from liveai.privacy.requests import _choice

    _choice(fmt, FORMATS, "the format")
    state.deadlines()
    today = state.today()
    first, last = default_period(today)
    with state.session() as session:
        built = build_report(
            session,
            state.day(from_) if from_ else first,
            state.day(to) if to else last,
            today,
        )
    document = render_report(built, fmt)
    if out is None:
        output.text(document.rstrip("\n"))
        return
    output.write_file(out, document)
    output.info(f"wrote {out} ({len(built.requests)} requests)")
