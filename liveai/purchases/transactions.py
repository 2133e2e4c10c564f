"""One shape for a transaction, whether it came from a receipt or a signed JWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from liveai.errors import InvalidInput
from liveai.purchases.catalog import StoreConfig

CONSUMABLE = "Consumable"


@dataclass(frozen=True)
class StoreTransaction:
    transaction_id: str
    original_transaction_id: str
    product_id: str
    quantity: int
    environment: str
    purchased_at: datetime | None
    revoked: bool
    app_account_token: str | None = None


def _ms(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"{value!r} is not a millisecond timestamp") from None


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"the transaction has no {key}")
    return value.strip()


def _quantity(value: Any) -> int:
    try:
        quantity = int(value if value not in (None, "") else 1)
    except (TypeError, ValueError):
        raise InvalidInput(f"transaction quantity {value!r} is not a number") from None
    if quantity < 1:
        raise InvalidInput(f"transaction quantity must be at least 1, got {quantity}")
    return quantity


def from_receipt_entry(entry: dict[str, Any], environment: str) -> StoreTransaction:
    """An `in_app[]` entry of a verifyReceipt answer (numbers and dates are strings)."""
    transaction_id = _text(entry, "transaction_id")
    return StoreTransaction(
        transaction_id=transaction_id,
        original_transaction_id=str(entry.get("original_transaction_id") or transaction_id),
        product_id=_text(entry, "product_id"),
        quantity=_quantity(entry.get("quantity")),
        environment=environment,
        purchased_at=_ms(entry.get("purchase_date_ms")),
        revoked=bool(entry.get("cancellation_date_ms") or entry.get("cancellation_date")),
    )


def from_signed_payload(payload: dict[str, Any], config: StoreConfig) -> StoreTransaction:
    """A verified JWSTransactionDecodedPayload, checked against our bundle and policy."""
    if payload.get("bundleId") != config.bundle_id:
        raise InvalidInput(
            f"the transaction is for bundle {payload.get('bundleId')!r}, not {config.bundle_id!r}",
            hint="check LIVEAI_APPLE_BUNDLE_ID",
        )
    environment = _text(payload, "environment")
    config.check_environment(environment)
    if payload.get("type") != CONSUMABLE:
        raise InvalidInput(
            f"transaction type {payload.get('type')!r} is not a consumable credit pack"
        )
    transaction_id = _text(payload, "transactionId")
    token = payload.get("appAccountToken")
    return StoreTransaction(
        transaction_id=transaction_id,
        original_transaction_id=str(payload.get("originalTransactionId") or transaction_id),
        product_id=_text(payload, "productId"),
        quantity=_quantity(payload.get("quantity")),
        environment=environment,
        purchased_at=_ms(payload.get("purchaseDate")),
        revoked=payload.get("revocationDate") is not None,
        app_account_token=token if isinstance(token, str) else None,
    )
