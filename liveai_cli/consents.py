"""liveai consents: what each user has consented to, grants and withdrawals, requirements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.options import UserRefArg

if TYPE_CHECKING:
    from liveai.settings import Settings

app = App(help=summary("consents"))

KindArg = Annotated[
    str,
    typer.Argument(
        help="policy, provide, cross_border, sensitive, face_editing or consumption_data; "
        "KIND:SCOPE is short for --scope SCOPE."
    ),
]
ScopeOption = Annotated[
    str | None,
    typer.Option(help="The recipient (provide, cross_border) or sensitive category it covers."),
]


@app.command("list")
@output.list_options
def list_(user: UserRefArg, fmt: output.Format = output.HUMAN) -> None:
    """List the consents that stand now (derived from the history).

    Example: liveai consents list u_123 --json
    """
    from liveai.privacy.consents import current
    from liveai.users import get_user

    with state.session() as session:
        rows = [s.to_dict() for s in current(session, get_user(session, user).id)]
    columns = ["consent", "granted_at", "policy_version", "source"]
    output.emit(rows, fmt, columns, empty=f"no consents stand for {user}")


@app.command("history")
@output.list_options
def history(user: UserRefArg, fmt: output.Format = output.HUMAN) -> None:
    """Show every grant and withdrawal, oldest first, with its evidence.

    Example: liveai consents history u_123
    """
    from liveai.privacy.consents import history as steps
    from liveai.privacy.consents import record_to_dict
    from liveai.users import get_user

    with state.session() as session:
        rows = [record_to_dict(r) for r in steps(session, get_user(session, user).id)]
    if fmt.name == "human":  # the table shows what was given; the effect note is in --json
        for row in rows:
            row["evidence"] = {k: v for k, v in row["evidence"].items() if k != "effect"}
    columns = ["at", "consent", "action", "source", "policy_version", "evidence"]
    output.emit(rows, fmt, columns, empty=f"no consent recorded for {user}")


@app.command("grant")
@output.json_option
def grant(
    user: UserRefArg,
    kind: KindArg,
    source: Annotated[str, typer.Option(help="Where it was given: in-app or staff.")],
    evidence: Annotated[
        str, typer.Option(help="What shows it was given (a staff note, a ticket).")
    ],
    scope: ScopeOption = None,
    app_version: Annotated[
        str | None, typer.Option(help="The app version it was given in.")
    ] = None,
    request_id: Annotated[str | None, typer.Option(help="The app's request id.")] = None,
    policy_version: Annotated[
        str | None, typer.Option(help="The policy version shown; default: the latest published.")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="When it was given (ISO 8601 with a zone); default: now.")
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Record that a user gave a consent.

    Example: liveai consents grant u_123 cross_border:fal --source staff --evidence "ticket 42"
    """
    from liveai.privacy.consents import Evidence, record_to_dict
    from liveai.privacy.consents import grant as record

    shown = Evidence(note=evidence, app_version=app_version, request_id=request_id)
    state.deadlines()
    with state.session() as session:
        row = record(
            session,
            user,
            kind,
            scope,
            source=source,
            evidence=shown,
            policy_version=policy_version,
            at=state.moment(at) if at else None,
            actor=state.actor(),
        )
        done = {"user": str(row.user_id), **record_to_dict(row)}
    output.done(done, fmt, f"granted {done['consent']} for user {done['user']}")


@app.command("withdraw")
@output.json_option
def withdraw(
    user: UserRefArg,
    kind: KindArg,
    scope: ScopeOption = None,
    evidence: Annotated[str | None, typer.Option(help="A note: how it was withdrawn.")] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Record a withdrawal: processing that needs it stops at once, queued tasks that
    need it are cancelled, past processing is unaffected.

    Example: liveai consents withdraw u_123 cross_border:fal --evidence "email of 3 May"
    """
    from liveai.privacy.consents import Evidence, record_to_dict
    from liveai.privacy.consents import withdraw as record

    settings = state.settings()
    with state.session() as session:
        result = record(
            session,
            user,
            kind,
            scope,
            settings=settings,
            evidence=Evidence(note=evidence),
            available=_available(settings),
            actor=state.actor(),
        )
        done = {
            "user": str(result.record.user_id),
            **record_to_dict(result.record),
            "cancelled_tasks": [str(t) for t in result.cancelled],
            "account_restricted": result.restricted,
        }
    if fmt.json:
        output.emit(done, fmt)
        return
    output.info(f"withdrew {done['consent']} for user {done['user']}: {done['evidence']['effect']}")
    if result.cancelled:
        output.info(f"cancelled {len(result.cancelled)} queued task(s); their holds are voided")
    if result.restricted:
        output.info("the account is restricted until the policy is accepted again")


@app.command("required")
@output.list_options
def required(fmt: output.Format = output.HUMAN) -> None:
    """Show what each purpose needs per recipient, derived from the data inventory.

    Example: liveai consents required --json
    """
    from liveai.privacy.consent_rules import requirements_table

    rows = requirements_table()
    output.emit(rows, fmt, ["purpose", "recipient", "role", "region", "needs"])
    if fmt.name == "human":
        output.info(
            "policy acceptance is needed too when the policy changed materially for the step"
        )


@app.command("check")
@output.json_option
def check(
    user: UserRefArg,
    provider: Annotated[
        str | None, typer.Option(help="Only this provider; default: every one a task may try.")
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Check that a user has every consent a generation needs, the photo's moderation
    included (exit 4 naming what is missing).

    Example: liveai consents check u_123 --provider fal
    """
    from liveai.errors import ExitCode
    from liveai.privacy.consents import check_routes
    from liveai.providers.moderation import screening_routes

    settings = state.settings()
    built = _built(settings)
    routes = _routes(settings, provider, built)
    screening = {name: screening_routes(built.get(name)) for name, _ in routes}
    with state.session() as session:
        report = check_routes(session, user, routes, screening=screening)
    if fmt.json:
        output.emit(report, fmt)
    else:
        rows = [{**r, "missing": r["missing"] or "nothing"} for r in report["providers"]]
        output.table(rows, ["provider", "missing"])
    if provider and not _region_allowed(settings, provider):
        output.warn(f"{provider} is overseas and LIVEAI_ALLOW_OVERSEAS is off: it is not used")
    if not report["ok"]:
        needs = "; ".join(
            f"{row['provider']} needs {', '.join(row['missing'])}"
            for row in report["providers"]
            if row["missing"]
        )
        output.error(f"missing consents: {needs} (--json says why each is needed)")
        raise typer.Exit(int(ExitCode.AUTH))


def _built(settings: Settings) -> dict[str, Any]:
    from liveai.generation.runtime import http_client
    from liveai.providers.registry import build_providers

    with http_client(settings) as client:
        return dict(build_providers(settings, client))


def _available(settings: Settings) -> list[str]:
    return list(_built(settings))


def _routes(
    settings: Settings, provider: str | None, built: dict[str, Any]
) -> list[tuple[str, str | None]]:
    """(name, region) of the providers a task would try (or of the one named)."""
    from liveai.providers.registry import candidates

    if provider is not None:
        found = built.get(provider)
        return [(provider, found.region if found else None)]
    return [(name, built[name].region) for name in candidates(built, settings)]


def _region_allowed(settings: Settings, provider: str) -> bool:
    from liveai.privacy.consent_rules import recipient

    party = recipient(provider)
    return settings.allow_overseas or party is None or party.region != "overseas"
