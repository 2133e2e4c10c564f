"""liveai users: create, show, list and rename users."""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.complete import user_ids
from liveai_cli.erasure import erase_user
from liveai_cli.groups import summary
from liveai_cli.options import DryRunOption, YesOption

app = App(help=summary("users"))

UserArg = Annotated[
    str,
    typer.Argument(
        help="A user id (or a unique prefix), a subject bound to the user, or an e-mail.",
        autocompletion=user_ids,
    ),
]


@app.command("create")
@output.json_option
def create(
    issuer: Annotated[str, typer.Option(help="Token issuer, e.g. https://auth.example/oidc")],
    sub: Annotated[str, typer.Option(help="The subject (`sub` claim) to bind.")],
    email: Annotated[str | None, typer.Option(help="Optional email address.")] = None,
    name: Annotated[str | None, typer.Option(help="Optional display name.")] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Create a user bound to an issuer and subject.

    Example: liveai users create --issuer https://auth.example/oidc --sub u_123 --name Ann
    """
    from liveai.users import create_user, user_to_dict

    with state.session() as session:
        user = create_user(
            session,
            issuer=issuer,
            subject=sub,
            email=email,
            display_name=name,
            actor=state.actor(),
        )
        shown = user_to_dict(user)
    output.emit(shown, fmt)


@app.command("show")
@output.json_option
def show(user: UserArg, fmt: output.Format = output.HUMAN) -> None:
    """Show one user.

    Example: liveai users show u_123 --json
    """
    from liveai.users import get_user, user_to_dict

    with state.session() as session:
        shown = user_to_dict(get_user(session, user))
    output.emit(shown, fmt)


@app.command("list")
@output.list_options
def list_(
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List users, oldest first.

    Example: liveai users list --json
    """
    from liveai.users import list_users, user_to_dict

    with state.session() as session:
        rows = [user_to_dict(u) for u in list_users(session, limit=limit)]
    if not fmt.json:
        for row in rows:
            row["subjects"] = [i["subject"] for i in row["identities"]]
    columns = ["id", "status", "display_name", "email", "subjects", "created_at"]
    output.emit(rows, fmt, columns, empty="no users yet (liveai users create)")


@app.command("rename")
@output.json_option
def rename(
    user: UserArg,
    name: Annotated[str, typer.Argument(help="The new display name.")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Change a user's display name (the right to correction).

    Example: liveai users rename u_123 "Ann Lee"
    """
    from liveai.users import rename_user, user_to_dict

    with state.session() as session:
        renamed = rename_user(session, user, name, actor=state.actor())
        shown = user_to_dict(renamed)
    output.done(shown, fmt, f"user {shown['id']} renamed")


@app.command("erase")
@output.json_option
def erase(
    user: UserArg,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Erase an account from every store: storage, tasks, devices, identities, Apple and
    Logto; the ledger and purchases are pseudonymised. Rerun to finish after a crash.

    Example: liveai users erase u_8f2 --dry-run
    """
    erase_user(user, dry_run=dry_run, yes=yes, fmt=fmt)
