"""liveai credits: balances, history, grants and revocations, holds, reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.options import UserArg

if TYPE_CHECKING:
    from liveai.models import Transfer

app = App(help=summary("credits"))

AmountArg = Annotated[int, typer.Argument(min=1, help="A whole number of credits.")]
ReasonOption = Annotated[str, typer.Option(help="Why: kept with the transfer.")]
KeyOption = Annotated[
    str | None,
    typer.Option(help="Idempotency key; repeat it to retry safely. Default: a new one."),
]
HISTORY_COLUMNS = ["created_at", "kind", "phase", "delta", "amount", "state", "key", "reason"]
HOLD_COLUMNS = ["created_at", "user_id", "amount", "expires_at", "reference", "key"]


@app.command("balance")
@output.json_option
def balance(user: UserArg, fmt: output.Format = output.HUMAN) -> None:
    """Show a user's available, pending (held) and posted credits.

    Example: liveai credits balance u_123 --json
    """
    from liveai import ledger
    from liveai.users import get_user

    with state.session() as session:
        found = get_user(session, user)
        shown = {"user_id": str(found.id), **asdict(ledger.balance(session, found.id))}
    output.emit(shown, fmt)


@app.command("history")
@output.list_options
def history(
    user: UserArg,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List a user's transfers, newest first; delta is the change to the posted balance.

    Example: liveai credits history u_123 --limit 20
    """
    from liveai import ledger
    from liveai.users import get_user

    with state.session() as session:
        found = get_user(session, user)
        rows = [
            ledger.transfer_to_dict(t, delta=ledger.user_delta(session, t))
            for t in ledger.history(session, found.id, limit=limit)
        ]
    output.emit(rows, fmt, HISTORY_COLUMNS, empty="no transfers for this user")


@app.command("show")
@output.json_option
def show(
    transfer: Annotated[str, typer.Argument(help="A transfer id, a unique prefix, or its key.")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Show one transfer.


    Example: liveai credits show 6406caca
    """
    from liveai import ledger

    with state.session() as session:
        found = ledger.get_transfer(session, transfer)
        shown = ledger.transfer_to_dict(found, delta=ledger.user_delta(session, found))
    output.emit(shown, fmt)


@app.command("grant")
@output.json_option
def grant(
    user: UserArg,
    amount: AmountArg,
    reason: ReasonOption,
    key: KeyOption = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Give a user promotional credits (audited).

    Example: liveai credits grant u_123 20 --reason "support: failed generation"
    """
    from liveai import ledger

    _change(ledger.grant, user, amount, reason, key, verb="granted", fmt=fmt)


@app.command("revoke")
@output.json_option
def revoke(
    user: UserArg,
    amount: AmountArg,
    reason: ReasonOption,
    key: KeyOption = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Take credits back with a correcting transfer; never below zero (exit 5). Audited.

    Example: liveai credits revoke u_123 20 --reason "duplicate grant"
    """
    from liveai import ledger

    _change(ledger.correction, user, -amount, reason, key, verb="revoked", fmt=fmt)


def _change(
    fn: Callable[..., Transfer],
    user: str,
    amount: int,
    reason: str,
    key: str | None,
    *,
    verb: str,
    fmt: output.Format,
) -> None:
    import uuid

    from liveai.errors import InvalidInput
    from liveai.ledger import transfer_to_dict
    from liveai.ledger.operations import recorded_here
    from liveai.users import get_user

    if key is not None and not key.strip():
        raise InvalidInput("--key is empty", hint="pass a key to repeat, or leave --key out")
    key = key or f"cli:{verb}:{uuid.uuid4()}"
    with state.session() as session:
        found = get_user(session, user)
        transfer = fn(session, found.id, amount, key=key, reason=reason, actor=state.actor())
        replay = not recorded_here(session, transfer)
        what = f"{transfer.amount} credits, user {found.id} (transfer {transfer.id}, key {key})"
        shown = {**transfer_to_dict(transfer), "replayed": replay}
    output.done(shown, fmt, f"already {verb} {what}" if replay else f"{verb} {what}")


@app.command("holds")
@output.list_options
def holds(
    user: Annotated[str | None, typer.Argument(help="Only this user's holds.")] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List pending holds (credits reserved by generations), oldest first.

    Example: liveai credits holds u_123 --json
    """
    from liveai import ledger
    from liveai.users import get_user

    with state.session() as session:
        user_id = get_user(session, user).id if user else None
        rows = [ledger.transfer_to_dict(h) for h in ledger.list_holds(session, user_id)]
    output.emit(rows, fmt, HOLD_COLUMNS, empty="no pending holds")


@app.command("expire-holds")
@output.json_option
def expire_holds(fmt: output.Format = output.HUMAN) -> None:
    """Expire every hold whose timeout has passed, making its credits available again.

    Example: liveai credits expire-holds
    """
    from liveai import ledger

    with state.session() as session:
        count = ledger.expire_holds(session)
    output.done({"expired": count}, fmt, f"{count} hold{'' if count == 1 else 's'} expired")


@app.command("reconcile")
@output.json_option
def reconcile(fmt: output.Format = output.HUMAN) -> None:
    """Recompute every balance from the transfers; exit 1 on any mismatch.

    Example: liveai credits reconcile --json
    """
    from liveai import ledger

    with state.session() as session:
        report = ledger.reconcile(session)
    if fmt.json:
        output.emit(report.to_dict(), fmt)
    else:
        if report.mismatches:
            output.table(
                [asdict(m) for m in report.mismatches], ["account", "field", "stored", "computed"]
            )
        for problem in report.problems:
            output.warn(problem)
        verdict = "clean" if report.ok else "MISMATCH"
        output.info(
            f"ledger {verdict}: {report.accounts} accounts, {report.transfers} transfers, "
            f"clawback shortfall {report.shortfall}"
        )
    if not report.ok:
        raise typer.Exit(1)
