"""A loopback App Store: verifyReceipt (production and sandbox) and the Server API.

Receipts are registered with `add_receipt(data, environment, body)`; the production
endpoint answers 21007 for a sandbox receipt and the sandbox one 21008 for a production
receipt, as Apple does. `fail(route, fault, times=1)` queues faults for the next
requests to a route ("production", "sandbox", "api"): an int 21xxx is a verifyReceipt
status, ("http", 503) an HTTP status, "malformed" a body that is not JSON, "statusless"
JSON without a status, "hang" no answer until the client gives up, ("api", code, http)
an App Store Server API error body.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

HANG_S = 2.0


class AppleStoreFake:
    def __init__(self, *, shared_secret: str | None = None) -> None:
        self.shared_secret = shared_secret
        self.receipts: dict[str, tuple[str, dict[str, Any]]] = {}
        self.transactions: dict[str, str] = {}
        self.api_key: ec.EllipticCurvePublicKey | None = None
        self.api_bundle_id: str | None = None
        self.requests: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = []
        self.consumption: dict[str, dict[str, Any]] = {}
        self._faults: dict[str, deque[Any]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- control -------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def production_url(self) -> str:
        return f"{self.url}/production/verifyReceipt"

    @property
    def sandbox_url(self) -> str:
        return f"{self.url}/sandbox/verifyReceipt"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def start(self) -> AppleStoreFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def add_receipt(self, data: str, environment: str, body: dict[str, Any]) -> None:
        self.receipts[data] = (environment, body)

    def fail(self, route: str, fault: Any, times: int = 1) -> None:
        with self._lock:
            self._faults[route].extend([fault] * times)

    def calls(self, route: str) -> int:
        return sum(1 for r, *_ in self.requests if r == route)

    def _next_fault(self, route: str) -> Any:
        with self._lock:
            return self._faults[route].popleft() if self._faults[route] else None

    # --- behaviour -----------------------------------------------------------------
    def verify_receipt(self, route: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        if body is None or not isinstance(body.get("receipt-data"), str):
            return 200, {"status": 21000}
        if self.shared_secret and body.get("password") != self.shared_secret:
            return 200, {"status": 21004}
        known = self.receipts.get(body["receipt-data"])
        if known is None:
            return 200, {"status": 21002}
        environment, answer = known
        if route == "production" and environment == "Sandbox":
            return 200, {"status": 21007}
        if route == "sandbox" and environment == "Production":
            return 200, {"status": 21008}
        return 200, answer

    def transaction_info(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        if not self._authorised(headers.get("authorization", "")):
            return 401, None
        transaction_id = path.rsplit("/", 1)[-1]
        if not transaction_id.isdigit():
            return 400, {"errorCode": 4000006, "errorMessage": "Invalid transaction id."}
        signed = self.transactions.get(transaction_id)
        if signed is None:
            return 404, {"errorCode": 4040010, "errorMessage": "Transaction id not found."}
        return 200, {"signedTransactionInfo": signed}

    def send_consumption(
        self, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, Any]:
        """PUT /inApps/v2/transactions/consumption/{id}: the v2 body is checked, then kept."""
        if not self._authorised(headers.get("authorization", "")):
            return 401, None
        transaction_id = path.rsplit("/", 1)[-1]
        if not path.startswith("/api/inApps/v2/transactions/consumption/"):
            return 404, None
        if not transaction_id.isdigit():
            return 400, {"errorCode": 4000006, "errorMessage": "Invalid transaction id."}
        problem = _consumption_problem(body)
        if problem is not None:
            return 400, {"errorCode": problem[0], "errorMessage": problem[1]}
        assert body is not None
        self.consumption[transaction_id] = body
        return 202, None

    def _authorised(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or self.api_key is None:
            return False
        try:
            claims = jwt.decode(
                token, self.api_key, algorithms=["ES256"], audience="appstoreconnect-v1"
            )
        except jwt.PyJWTError:
            return False
        return bool(claims.get("bid") == self.api_bundle_id and claims.get("iss"))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                route = self.path.strip("/").split("/")[0]
                self._serve(route, body, lambda: fake.verify_receipt(route, body))

            def do_PUT(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    body = None
                answer = lambda: fake.send_consumption(self.path, body, headers)  # noqa: E731
                self._serve("api", body, answer, headers)

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._serve("api", None, lambda: fake.transaction_info(self.path, headers), headers)

            def _serve(
                self,
                route: str,
                body: dict[str, Any] | None,
                answer: Any,
                headers: dict[str, str] | None = None,
            ) -> None:
                fake.requests.append((route, self.path, body, headers or {}))
                fault = fake._next_fault(route)
                if fault == "hang":
                    time.sleep(HANG_S)
                    return
                if fault == "malformed":
                    return self._send(200, b"<html>gateway</html>")
                if fault == "statusless":
                    return self._send(200, {"environment": "Production"})
                if isinstance(fault, int):
                    return self._send(200, {"status": fault, "is_retryable": True})
                if isinstance(fault, tuple) and fault[0] == "http":
                    return self._send(fault[1], b"")
                if isinstance(fault, tuple) and fault[0] == "api":
                    return self._send(fault[2], {"errorCode": fault[1], "errorMessage": "x"})
                status, payload = answer()
                self._send(status, payload)

            def _send(self, status: int, payload: Any) -> None:
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                if payload is None:
                    raw = b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler


# The reference gives the body, not Apple's code for each refusal: the fake answers 400
# with this one code and a message naming what it refused.
BAD_BODY = 4000000
CONSUMPTION_FIELDS = {
    "customerConsented": bool,
    "sampleContentProvided": bool,
    "deliveryStatus": str,
    "consumptionPercentage": int,
    "refundPreference": str,
}
DELIVERY = {
    "DELIVERED",
    "UNDELIVERED_QUALITY_ISSUE",
    "UNDELIVERED_WRONG_ITEM",
    "UNDELIVERED_SERVER_OUTAGE",
    "UNDELIVERED_OTHER",
}
REFUND_PREFERENCE = {"DECLINE", "GRANT_FULL", "GRANT_PRORATED"}


def _consumption_problem(body: Any) -> tuple[int, str] | None:
    """What the fake refuses in a ConsumptionRequest (v2) body: None when it is acceptable."""
    if not isinstance(body, dict):
        return BAD_BODY, "The request body is not a JSON object."
    unknown = set(body) - set(CONSUMPTION_FIELDS)
    wrong = [k for k, t in CONSUMPTION_FIELDS.items() if k in body and type(body[k]) is not t]
    if unknown or wrong:
        return BAD_BODY, f"Invalid fields: {sorted(unknown) + wrong}."
    for name in ("customerConsented", "sampleContentProvided", "deliveryStatus"):
        if name not in body:
            return BAD_BODY, f"{name} is required."
    if body["customerConsented"] is not True:
        return BAD_BODY, "Invalid customer consent."
    if body["deliveryStatus"] not in DELIVERY:
        return BAD_BODY, "Invalid delivery status."
    if not 0 <= body.get("consumptionPercentage", 0) <= 100000:
        return BAD_BODY, "Invalid consumption percentage."
    if body.get("refundPreference", "DECLINE") not in REFUND_PREFERENCE:
        return BAD_BODY, "Invalid refund preference."
    return None
