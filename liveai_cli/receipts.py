"""liveai receipts: verify App Store receipts and signed transactions, apply notifications."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.infiles import read_text
from liveai_cli.options import UserOption

app = App(help=summary("receipts"))

FileArg = Annotated[str, typer.Argument(help="The file to read; `-` reads stdin.")]
TIMEOUT = 30.0


def _credit_output(result: dict[str, Any], fmt: output.Format) -> None:
    if fmt.json:
        output.emit(result, fmt)
        return
    output.table(result["transactions"], ["transaction_id", "product_id", "credits", "status"])
    if result["credited"]:
        output.info(f"{result['credited']} credits added to user {result['user_id']}")
    else:
        output.info(f"nothing new to credit to user {result['user_id']}")


@app.command("verify")
@output.json_option
def verify(file: FileArg, user: UserOption, fmt: output.Format = output.HUMAN) -> None:
    """Verify a base64 app receipt with Apple's verifyReceipt and credit its new purchases.

    Example: liveai receipts verify receipt.b64 --user u_123
    """
    import httpx

    from liveai.clock import SYSTEM_CLOCK
    from liveai.purchases.catalog import store_config
    from liveai.purchases.operations import redeem_receipt, verify_receipt

    settings = state.settings()
    config = store_config(settings)
    receipt_text = read_text(file)
    with httpx.Client(timeout=TIMEOUT) as http:
        receipt = verify_receipt(settings, receipt_text, http=http)
    with state.session() as session:
        result = redeem_receipt(
            session, user, receipt, config, clock=SYSTEM_CLOCK, actor=state.actor()
        ).to_dict()
    _credit_output(result, fmt)


@app.command("transaction")
@output.json_option
def transaction(file: FileArg, user: UserOption, fmt: output.Format = output.HUMAN) -> None:
    """Verify a signed transaction (StoreKit 2 jwsRepresentation) and credit it once.

    Example: liveai receipts transaction signed.jws --user u_123 --json
    """
    from liveai.clock import SYSTEM_CLOCK
    from liveai.purchases.catalog import store_config
    from liveai.purchases.operations import redeem_signed_transaction

    config = store_config(state.settings())
    signed = read_text(file)
    with state.session() as session:
        result = redeem_signed_transaction(
            session, user, signed, config, clock=SYSTEM_CLOCK, actor=state.actor()
        ).to_dict()
    _credit_output(result, fmt)


@app.command("lookup")
@output.json_option
def lookup(
    transaction_id: Annotated[str, typer.Argument(help="The App Store transaction id.")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Look a transaction up with the App Store Server API (Get Transaction Info); credit nothing.

    Example: liveai receipts lookup 2000000123456789 --json
    """
    import httpx

    from liveai.clock import SYSTEM_CLOCK
    from liveai.purchases.catalog import store_config
    from liveai.purchases.operations import lookup_transaction

    settings = state.settings()
    config = store_config(settings)
    with httpx.Client(timeout=TIMEOUT) as http:
        shown = lookup_transaction(settings, config, transaction_id, http=http, clock=SYSTEM_CLOCK)
    output.emit(shown, fmt)


@app.command("notify")
@output.json_option
def notify(file: FileArg, fmt: output.Format = output.HUMAN) -> None:
    """Apply an App Store Server Notification V2 body exactly as Apple posts it (once per UUID).

    A CONSUMPTION_REQUEST is answered through the App Store Server API only when the
    customer consented; otherwise it is recorded as declined with the reason.

    Example: liveai receipts notify notification.json
    """
    import httpx

    from liveai.clock import SYSTEM_CLOCK
    from liveai.purchases.catalog import store_config
    from liveai.purchases.consumption import sender_from_settings
    from liveai.purchases.notifications import process_notification

    settings = state.settings()
    config = store_config(settings)
    body = read_text(file)
    with httpx.Client(timeout=TIMEOUT) as http, state.session() as session:
        send = sender_from_settings(settings, http, SYSTEM_CLOCK)
        shown = process_notification(
            session, body, config, clock=SYSTEM_CLOCK, actor=state.actor(), send=send
        ).to_dict()
    output.emit(shown, fmt)


@app.command("list")
@output.list_options
def list_(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's purchases.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List credited App Store purchases, oldest first.

    Example: liveai receipts list --user u_123 --json
    """
    from liveai.purchases.service import list_purchases, purchase_to_dict
    from liveai.users import get_user

    with state.session() as session:
        user_id = get_user(session, user).id if user else None
        rows = [purchase_to_dict(p) for p in list_purchases(session, user_id=user_id, limit=limit)]
    columns = ["transaction_id", "product_id", "credits", "state", "environment", "user_id"]
    output.emit(rows, fmt, columns, empty="no purchases")


@app.command("notifications")
@output.list_options
def notifications(
    type_: Annotated[
        str | None, typer.Option("--type", help="Only this type, e.g. CONSUMPTION_REQUEST.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List the App Store Server Notifications received, oldest first.

    Example: liveai receipts notifications --type CONSUMPTION_REQUEST
    """
    from liveai.purchases.notifications import list_notifications, notification_to_dict

    with state.session() as session:
        found = list_notifications(session, notification_type=type_, limit=limit)
        rows = [notification_to_dict(n) for n in found]
    columns = ["received_at", "type", "subtype", "transaction_id", "reason", "outcome"]
    output.emit(rows, fmt, columns, empty="no notifications received")


@app.command("products")
@output.list_options
def products(fmt: output.Format = output.HUMAN) -> None:
    """List the product catalogue: App Store product id and the credits one pack grants.

    Example: liveai receipts products --json
    """
    from liveai.purchases.catalog import store_config
    from liveai.purchases.operations import product_rows

    rows = product_rows(store_config(state.settings()))
    output.emit(rows, fmt, ["product_id", "credits"], empty="no products configured")
