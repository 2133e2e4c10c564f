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
    from datetime import datetime

    from liveai.errors import InvalidInput
    from liveai.privacy.calendar import SHANGHAI

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not an ISO time", hint="use e.g. 2026-11-02T09:30+08:00"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def _today() -> Any:
    from datetime import datetime

    from liveai.privacy.calendar import SHANGHAI

    return datetime.now(SHANGHAI).date()


def _show(request: Any, json_: bool) -> None:
    from liveai.privacy.requests import RequestView

    shown = RequestView(request, _today()).as_dict()
    if json_:
        output.emit_json(shown)
    else:
        output.fields(shown)


@app.command("open")
def open_(
    user: Annotated[str, typer.Option(help="The subject: a user id or a bound subject.")],
    kind: Annotated[choices.RequestKind, typer.Option(help="What the subject asks for.")],
    received: Annotated[
        str, typer.Option(help="When it arrived, ISO 8601 (no zone = Asia/Shanghai).")
    ],
    channel: Annotated[choices.Channel, typer.Option(help="How it arrived.")],
    region: Annotated[choices.Region, typer.Option(help="cn, or eu for a GDPR subject.")] = "cn",
    json_: JsonOption = False,
) -> None:
    """Register a request; its due date is fixed from the day of receipt.

    Example: liveai requests open --user u_8f2 --kind deletion --received 2026-11-02 --channel email
    """
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.requests import open_request, parse_kind

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


@app.command("list")
@output.list_options
def list_(
    overdue: Annotated[bool, typer.Option(help="Only open requests past their due date.")] = False,
    due_within: Annotated[
        int | None, typer.Option(min=0, help="Only open requests due within DAYS days.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include completed and refused.")] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List requests by due date (open ones unless --all).

    Example: liveai requests list --due-within 5 --json
    """
    from liveai.privacy.requests import RequestView, list_requests

    today = _today()
    with state.session() as session:
        rows = [
            RequestView(r, today).as_dict()
            for r in list_requests(
                session,
                today=today,
                overdue=overdue,
                due_within_days=due_within,
                include_closed=all_,
            )
        ]
    columns = ["id", "kind", "state", "due_on", "days_left", "overdue", "received_at"]
    empty = "no requests" if all_ else "no open requests (use --all for closed ones)"
    output.emit(rows, fmt, columns, empty=empty)


@app.command("show")
def show(request_id: IdArg, json_: JsonOption = False) -> None:
    """Show one request with its deadline and state.

    Example: liveai requests show 5f0c8a --json
    """
    from liveai.privacy.requests import get_request

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

    from liveai.auth import authenticate, verifier_from_settings
    from liveai.errors import InvalidInput
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
    request erases the account (rerun to finish after a crash); then mark it completed.

    Example: liveai requests run 5f0c8a --yes
    """
    from liveai.errors import InvalidInput
    from liveai.models import RequestKind
    from liveai.privacy.requests import begin_work, complete, get_request

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
        if not dry_run:
            begin_work(session, request, actor=state.actor())
    if kind is RequestKind.EXPORT:
        if dry_run:
            output.info(f"would export user {user_id} to {out}")
            return
        assert out is not None
        from liveai_cli.privacy import export

        export(str(user_id), out, json_=fmt.json)
    else:
        from liveai_cli.erasure import run_erasure

        run_erasure(str(user_id), request_id=request_key, dry_run=dry_run, yes=yes, json_=fmt.json)
        if dry_run:
            return
    with state.session() as session:
        complete(session, get_request(session, request_key), actor=state.actor())
    output.info(f"request {request_key} completed")


@app.command("complete")
@output.json_option
def complete_(request_id: IdArg, fmt: output.Format = output.HUMAN) -> None:
    """Mark a verified request completed after doing it by hand (a correction, an objection).

    Example: liveai requests complete 5f0c8a
    """
    from liveai.privacy.requests import complete, get_request

    with state.session() as session:
        request = complete(session, get_request(session, request_id), actor=state.actor())
        _done(request, "completed", fmt)
