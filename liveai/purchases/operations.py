"""Entry points for the CLI and the API: verify, then credit in the caller's transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.orm import Session

from liveai.clock import Clock
from liveai.purchases.catalog import StoreConfig
from liveai.purchases.jws import verify_jws
from liveai.purchases.receipts import VerifiedReceipt, VerifyReceiptClient
from liveai.purchases.server_api import clients_from_settings, lookup
from liveai.purchases.service import CreditResult, credit_receipt, credit_transactions
from liveai.purchases.transactions import from_signed_payload
from liveai.settings import Settings
from liveai.users import get_user


def receipt_client(
    settings: Settings, http: httpx.Client, *, sleep: Callable[[float], None] = time.sleep
) -> VerifyReceiptClient:
    secret = settings.apple_shared_secret
    return VerifyReceiptClient(
        http,
        production_url=settings.apple_verify_receipt_url,
        sandbox_url=settings.apple_verify_receipt_sandbox_url,
        shared_secret=secret.get_secret_value() if secret else None,
        sleep=sleep,
    )


def verify_receipt(
    settings: Settings,
    receipt: str,
    *,
    http: httpx.Client,
    sleep: Callable[[float], None] = time.sleep,
) -> VerifiedReceipt:
    """Ask Apple about a receipt: production first, the sandbox first outside production."""
    first = "Production" if settings.environment == "production" else "Sandbox"
    return receipt_client(settings, http, sleep=sleep).verify(receipt, first=first)


def redeem_receipt(
    session: Session,
    user_ref: str,
    receipt: VerifiedReceipt,
    config: StoreConfig,
    *,
    clock: Clock,
    actor: str = "system",
) -> CreditResult:
    """Credit a receipt already verified by Apple (verify outside the DB transaction)."""
    user = get_user(session, user_ref)
    return credit_receipt(session, user, receipt, config, clock=clock, actor=actor)


def redeem_signed_transaction(
    session: Session,
    user_ref: str,
    signed: str,
    config: StoreConfig,
    *,
    clock: Clock,
    actor: str = "system",
) -> CreditResult:
    """Verify a StoreKit 2 / Server API signed transaction and credit it once."""
    payload = verify_jws(signed, root=config.root(), now=clock.now())
    transaction = from_signed_payload(payload, config)
    user = get_user(session, user_ref)
    return credit_transactions(
        session,
        user,
        [transaction],
        config,
        environment=transaction.environment,
        source="signed_transaction",
        clock=clock,
        actor=actor,
    )


def lookup_transaction(
    settings: Settings,
    config: StoreConfig,
    transaction_id: str,
    *,
    http: httpx.Client,
    clock: Clock,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Get Transaction Info from the App Store Server API, verified; nothing is credited."""
    signed = lookup(clients_from_settings(settings, http, clock, sleep=sleep), transaction_id)
    return verify_jws(signed, root=config.root(), now=clock.now())


def product_rows(config: StoreConfig) -> list[dict[str, Any]]:
    return [{"product_id": p, "credits": c} for p, c in sorted(config.products.items())]
