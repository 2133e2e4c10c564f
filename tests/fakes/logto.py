"""A loopback Logto: `/oidc/jwks`, `/oidc/token` (client credentials, HTTP Basic auth) and
the Management API's `/api/users/{id}` (GET, DELETE), shaped like Logto OSS.

Routes for fault injection: "jwks", "token", "users".
"""

from __future__ import annotations

import base64
import itertools
from typing import Any
from urllib.parse import unquote

from tests.fakes.identity_http import IdentityServer, Reply, Request

MANAGEMENT_RESOURCE = "https://default.logto.app/api"


class FakeLogto(IdentityServer):
    def __init__(self, *, app_id: str = "m2m-app", app_secret: str = "m2m-secret") -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.users: dict[str, dict[str, Any]] = {}
        self.valid_tokens: set[str] = set()
        self.expires_in = 3600
        self._counter = itertools.count(1)
        self.route("GET", "/oidc/jwks", "jwks", self.jwks_reply)
        self.route("POST", "/oidc/token", "token", self._token)
        self.route("GET", "/api/users/", "users", self._get_user)
        self.route("DELETE", "/api/users/", "users", self._delete_user)

    @property
    def issuer(self) -> str:
        return f"{self.url}/oidc"

    def revoke_all_tokens(self) -> None:
        """As if the M2M tokens expired early: the next API call answers 401."""
        self.valid_tokens.clear()

    def _token(self, request: Request) -> Reply:
        expected = base64.b64encode(f"{self.app_id}:{self.app_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return Reply(
                400, {"error": "invalid_client", "error_description": "invalid client m2m"}
            )
        if request.form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if request.form.get("resource") != MANAGEMENT_RESOURCE:
            return Reply(400, {"error": "invalid_target"})
        token = f"m2m-token-{next(self._counter)}"
        self.valid_tokens.add(token)
        body = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        return Reply(200, {**body, "scope": "all"})

    def _authorised(self, request: Request) -> Reply | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return Reply(401, {"code": "auth.authorization_header_missing", "message": "x"})
        if header.removeprefix("Bearer ") not in self.valid_tokens:
            return Reply(401, {"code": "auth.unauthorized", "message": "Unauthorized."})
        return None

    def _user_id(self, request: Request) -> str:
        return unquote(request.path.removeprefix("/api/users/"))

    def _get_user(self, request: Request) -> Reply:
        denied = self._authorised(request)
        if denied:
            return denied
        user = self.users.get(self._user_id(request))
        if user is None:
            return Reply(404, {"code": "entity.not_exists_with_id", "message": "not found"})
        return Reply(200, user)

    def _delete_user(self, request: Request) -> Reply:
        denied = self._authorised(request)
        if denied:
            return denied
        if self.users.pop(self._user_id(request), None) is None:
            return Reply(404, {"code": "entity.not_exists_with_id", "message": "not found"})
        return Reply(204)
