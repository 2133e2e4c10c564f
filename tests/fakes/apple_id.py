"""A loopback appleid.apple.com: `/auth/keys` (JWKS), `/auth/token` (authorization-code
exchange) and `/auth/revoke`, both authenticated by the ES256 `client_secret` JWT.

Routes for fault injection: "keys", "token", "revoke".
"""

from __future__ import annotations

import itertools
from typing import Any

import jwt

from tests.fakes.identity_http import IdentityServer, Reply, Request

APPLE_ISSUER = "https://appleid.apple.com"


class FakeAppleId(IdentityServer):
    def __init__(
        self, *, team_id: str, key_id: str, client_ids: set[str], secret_key_pem: bytes
    ) -> None:
        super().__init__()
        self.team_id = team_id
        self.key_id = key_id
        self.client_ids = client_ids
        self.secret_key_pem = secret_key_pem
        self.codes: dict[str, dict[str, Any]] = {}
        self.live_refresh_tokens: set[str] = set()
        self.revoked: list[str] = []
        self.secret_claims: list[dict[str, Any]] = []
        self._counter = itertools.count(1)
        self.route("GET", "/auth/keys", "keys", self.jwks_reply)
        self.route("POST", "/auth/token", "token", self._token)
        self.route("POST", "/auth/revoke", "revoke", self._revoke)

    def add_code(self, code: str, *, client_id: str, id_token: str | None) -> str:
        """A single-use authorization code; returns the refresh token it will yield."""
        refresh = f"r{next(self._counter)}.refresh-token"
        self.codes[code] = {"client_id": client_id, "id_token": id_token, "refresh": refresh}
        return refresh

    def _client_ok(self, form: dict[str, str]) -> bool:
        """Check the client_secret the way Apple does: signature, kid, iss, aud, sub."""
        secret = form.get("client_secret", "")
        try:
            header = jwt.get_unverified_header(secret)
            claims = jwt.decode(
                secret,
                self.secret_key_pem,
                algorithms=["ES256"],
                audience=APPLE_ISSUER,
                issuer=self.team_id,
                # The tests run on a fixed clock, so the fake checks only the lifetime.
                options={
                    "require": ["iat", "exp", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            return False
        self.secret_claims.append(claims)
        return (
            header.get("kid") == self.key_id
            and claims["sub"] == form.get("client_id")
            and form.get("client_id") in self.client_ids
            and claims["exp"] - claims["iat"] <= 15_777_000
        )

    def _token(self, request: Request) -> Reply:
        form = request.form
        if not self._client_ok(form):
            return Reply(400, {"error": "invalid_client"})
        if form.get("grant_type") != "authorization_code":
            return Reply(400, {"error": "unsupported_grant_type"})
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant["client_id"] != form.get("client_id"):
            return Reply(400, {"error": "invalid_grant"})
        self.live_refresh_tokens.add(grant["refresh"])
        body = {
            "access_token": "a.access-token",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": grant["refresh"],
        }
        if grant["id_token"] is not None:
            body["id_token"] = grant["id_token"]
        return Reply(200, body)

    def _revoke(self, request: Request) -> Reply:
        form = request.form
        if not self._client_ok(form):
            return Reply(400, {"error": "invalid_client"})
        if form.get("token_type_hint") not in ("refresh_token", "access_token"):
            return Reply(400, {"error": "invalid_request"})
        token = form.get("token", "")
        self.live_refresh_tokens.discard(token)
        self.revoked.append(token)
        return Reply(200)  # also for unknown or already revoked tokens, as Apple does
