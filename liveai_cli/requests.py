"""liveai requests: the register of data-subject requests and their deadlines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveai_cli import choices, output, state
from liveai_cli.app import App
from liveai_cli.complete import request_ids
from liveai_cli.groups import summary

if TYPE_CHECKING:
    from datetime import datetime


app = App(help=summary("requests"))

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
IdArg = Annotated[
    str,
    typer.Argument(
        help="The request id, or a unique prefix of 6+ characters.", autocompletion=request_ids
    ),
]


def _parse_time(value: str) -> datetime:
    from liveai.moments import parse_moment
    from liveai.privacy.calendar import deadline_zone

    return parse_moment(value, deadline_zone())


def _today() -> Any:
    from datetime import datetime

    from liveai.privacy.calendar import deadline_zone

    return datetime.now(deadline_zone()).date()


def _show(request: Any, json_: bool) -> None:
    from liveai.privacy.requests import RequestView

    shown = RequestView(request, _today()).as_dict()
    if json_:
        output.emit_json(shown)
        return
    for name in ("received_at", "completed_at"):
        shown[name] = _in_deadline_zone(shown[name])
    output.fields(shown)


@app.command("open")
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
    json_: JsonOption = False,
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
            received_at=_parse_time(received),
            channel=channel,
            region=region,
            working_days=DEFAULT_INVENTORY.sla_working_days,
            actor=state.actor(),
        )
        _show(request, json_)


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
    today = _today()
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


def _alarming(row: dict[str, Any], today: Any, due_within: int | None) -> bool:
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
    mark: Any = row["overdue"] if plain else ("OVERDUE" if row["overdue"] else "")
    return {
        **row,
        "received": row["received_at"] if plain else _in_deadline_zone(row["received_at"]),
        "due": row["due_on"] + (" (provisional)" if row["due_provisional"] else ""),
        "overdue": mark,
    }


@app.command("show")
def show(request_id: IdArg, json_: JsonOption = False) -> None:
    """Show one request with its deadline and state.

    Example: liveai requests show 5f0c8a --json
    """
    from liveai.privacy.requests import get_request

    state.deadlines()
    with state.session() as session:
        _show(get_request(session, request_id), json_)


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


def _done(request: Any, what: str, fmt: output.Format) -> None:
    """The request a write command changed: as JSON, or one line on stderr."""
    if fmt.json:
        _show(request, json_=True)
    else:
        output.info(f"request {request.id} {what}")


def _verify_token(session: Any, request: Any) -> None:
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
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be done.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Carry out a verified request: an export writes the bundle; a deletion or guardian
    request erases the account (rerun to finish after a crash). The request is then
    completed, or awaits the steps left to do by hand (`requests steps`).

    Example: liveai requests run 5f0c8a --yes
    """
    from liveai.errors import InvalidInput
    from liveai.models import RequestKind
    from liveai.privacy.requests import begin_work, check_workable, get_request

    state.deadlines()
    with state.session() as session:
        request = get_request(session, request_id)
        kind, user_id, request_key = request.kind, request.user_id, request.id
        if kind in (RequestKind.CORRECTION, RequestKind.OBJECTION):
            raise InvalidInput(
                f"a {kind.value} request is carried out by hand (e.g. `liveai users rename`)",
                hint=f"then close it with `liveai requests complete {request.id}`",
            )
        if kind is RequestKind.EXPORT and out is None and not dry_run:
            raise InvalidInput("an export request needs --out FILE.zip")
        check_workable(request)
    if kind is RequestKind.EXPORT:
        _run_export(request_key, user_id, out, dry_run, fmt.json)
        return
    from liveai_cli.erasure import run_erasure

    if not dry_run:
        output.confirm(
            f"Erase user {user_id} from every store for request {request_key}? "
            "This cannot be undone.",
            yes=yes,
        )
        with state.session() as session:
            begin_work(session, get_request(session, request_key), actor=state.actor())
    run_erasure(str(user_id), request_id=request_key, dry_run=dry_run, yes=True, json_=fmt.json)


def _run_export(
    request_key: Any, user_id: Any, out: Path | None, dry_run: bool, json_: bool
) -> None:
    from liveai.privacy.requests import begin_work, get_request
    from liveai.privacy.steps import finish_work

    if dry_run:
        output.info(f"would export user {user_id} to {out}")
        return
    assert out is not None
    from liveai_cli.privacy import export

    with state.session() as session:
        begin_work(session, get_request(session, request_key), actor=state.actor())
    export(str(user_id), out, json_=json_)
    with state.session() as session:
        request = finish_work(session, get_request(session, request_key), [], actor=state.actor())
        _say_completed(request)


def _in_deadline_zone(utc: str | None) -> str | None:
    """A JSON (UTC) time as people read the register: in the deadline zone, named."""
    from liveai.privacy.calendar import deadline_zone
    from liveai_cli.cells import zoned

    return zoned(utc, deadline_zone()) if utc else None


def _say_completed(request: Any) -> None:
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
            _show(request, json_=True)


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
            _show(request, json_=True)


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
    today = _today()
    first, last = default_period(today)
    with state.session() as session:
        built = build_report(
            session,
            _parse_day(from_) if from_ else first,
            _parse_day(to) if to else last,
            today,
        )
    document = render_report(built, fmt)
    if out is None:
        output.text(document.rstrip("\n"))
        return
    output.write_file(out, document)
    output.info(f"wrote {out} ({len(built.requests)} requests)")


def _parse_day(value: str) -> Any:
    from liveai.moments import parse_moment
    from liveai.privacy.calendar import deadline_zone, receipt_date

    return receipt_date(parse_moment(value, deadline_zone()))
