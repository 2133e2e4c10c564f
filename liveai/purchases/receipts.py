"""The legacy verifyReceipt client: production first, then the environment Apple names.

Apple answers HTTP 200 even for errors; the `status` field says what happened.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from liveai.errors import AuthError, ConfigError, InvalidInput, LiveAIError, UpstreamError
from liveai.identity.jwks import require_https

SANDBOX_RECEIPT = 21007
PRODUCTION_RECEIPT = 21008
RETRYABLE = frozenset({21002, 21005, 21009})
MESSAGES: dict[int, str] = {
    21000: "the App Store could not read the request (not a POST, or unreadable JSON)",
    21001: "status 21001 is no longer sent by Apple",
    21002: "the receipt data is malformed, or the App Store had a temporary problem",
    21003: "the receipt could not be authenticated",
    21004: "the shared secret does not match the one on file for the account",
    21005: "the receipt server is temporarily unavailable",
    21006: "the receipt is valid but its subscription has expired",
    21007: "this receipt is from the sandbox, sent to production",
    21008: "this receipt is from production, sent to the sandbox",
    21009: "internal App Store data access error",
    21010: "the user account cannot be found or has been deleted",
}


@dataclass(frozen=True)
class VerifiedReceipt:
    environment: str
    body: dict[str, Any]

    @property
    def bundle_id(self) -> str | None:
        receipt = self.body.get("receipt")
        return receipt.get("bundle_id") if isinstance(receipt, dict) else None

    @property
    def transactions(self) -> list[dict[str, Any]]:
        receipt = self.body.get("receipt")
        in_app = receipt.get("in_app") if isinstance(receipt, dict) else None
        return [t for t in in_app or [] if isinstance(t, dict)]


def check_receipt_data(receipt: str) -> str:
    """The receipt as Apple wants it: standard base64, whitespace removed."""
    cleaned = "".join(receipt.split())
    if not cleaned:
        raise InvalidInput("the receipt is empty", hint="pass the app's base64 receipt")
    try:
        base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "the receipt is not base64",
            hint="pass the base64 app receipt exactly as the app sent it",
        ) from None
    return cleaned


def status_error(status: int) -> LiveAIError:
    """The error for a final (non-retried) verifyReceipt status."""
    message = MESSAGES.get(status, "internal App Store data access error")
    text = f"verifyReceipt status {status}: {message}"
    if status == 21004:
        return ConfigError(text, hint="set LIVEAI_APPLE_SHARED_SECRET to the app's shared secret")
    if status in (21003, 21010):
        return AuthError(text, hint="the receipt is not a genuine purchase of this account")
    if status in (21002, 21006):
        return InvalidInput(text, hint="send the receipt exactly as the app read it")
    return UpstreamError(text, hint="try again later")


def _is_retryable(status: int, body: dict[str, Any]) -> bool:
    if status in RETRYABLE:
        return True
    flag = body.get("is_retryable", body.get("is-retryable"))
    return 21100 <= status <= 21199 and flag in (True, 1, "1", "true")


class _Retry(Exception):
    def __init__(self, error: LiveAIError) -> None:
        self.error = error


class VerifyReceiptClient:
    """verifyReceipt over an injected httpx.Client, retried with exponential backoff."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        production_url: str,
        sandbox_url: str,
        shared_secret: str | None = None,
        attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.urls = {
            "Production": require_https(production_url, what="verifyReceipt URL"),
            "Sandbox": require_https(sandbox_url, what="verifyReceipt sandbox URL"),
        }
        self.shared_secret = shared_secret
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep

    def verify(self, receipt: str, *, first: str = "Production") -> VerifiedReceipt:
        """Verify at `first` (production); follow 21007/21008 once to the other environment."""
        data = check_receipt_data(receipt)
        environment = first
        body = self._post_retrying(environment, data)
        status = body["status"]
        if status in (SANDBOX_RECEIPT, PRODUCTION_RECEIPT):
            environment = "Sandbox" if status == SANDBOX_RECEIPT else "Production"
            body = self._post_retrying(environment, data)
            status = body["status"]
        if status != 0:
            raise status_error(status)
        return VerifiedReceipt(str(body.get("environment") or environment), body)

    def _post_retrying(self, environment: str, data: str) -> dict[str, Any]:
        for attempt in range(1, self.attempts + 1):
            try:
                return self._post(environment, data)
            except _Retry as retry:
                if attempt == self.attempts:
                    raise retry.error from None
                self.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _post(self, environment: str, data: str) -> dict[str, Any]:
        url = self.urls[environment]
        payload: dict[str, Any] = {"receipt-data": data, "exclude-old-transactions": True}
        if self.shared_secret:
            payload["password"] = self.shared_secret
        try:
            response = self.http.post(url, json=payload)
        except httpx.HTTPError as exc:
            raise _Retry(UpstreamError(f"verifyReceipt at {url} failed: {exc!r}")) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise _Retry(UpstreamError(f"verifyReceipt at {url} answered {response.status_code}"))
        body = _parse(response, url)
        status = body["status"]
        if _is_retryable(status, body):
            raise _Retry(status_error(status))
        return body


def _parse(response: httpx.Response, url: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise UpstreamError(f"verifyReceipt at {url} answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise _Retry(
            UpstreamError(f"verifyReceipt at {url} sent a body that is not JSON")
        ) from None
    if not isinstance(body, dict) or not isinstance(body.get("status"), int):
        raise _Retry(UpstreamError(f"verifyReceipt at {url} sent a body without a status"))
    return body
