"""The APNs provider token: an ES256 JWT shared by every request, renewed every 40 minutes.

Apple refuses tokens older than an hour (403 ExpiredProviderToken) and tokens renewed more
often than every 20 minutes (429 TooManyProviderTokenUpdates), so one token is cached per
key and team and renewed in between.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import ConfigError
from liveai.keys import could_be_path

RENEW_AFTER = timedelta(minutes=40)
KEY_HINT = "point LIVEAI_APNS_KEY_FILE at the AuthKey_<key id>.p8 file downloaded from Apple"


def load_signing_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Read an Apple .p8 key: an unencrypted PKCS#8 PEM holding a P-256 key."""
    if not could_be_path(str(path)):
        # Key material pasted where the path belongs: say so without repeating it.
        raise ConfigError("LIVEAI_APNS_KEY_FILE is malformed: it is not a file path", hint=KEY_HINT)
    try:
        pem = path.expanduser().read_bytes()
    except OSError as exc:
        message = f"cannot read the APNs key {path}: {exc.strerror}"
        raise ConfigError(message, hint=KEY_HINT) from None
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{path} is not an unencrypted PEM private key", hint=KEY_HINT) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{path} is not a P-256 (ES256) key", hint=KEY_HINT)
    return key


@dataclass(frozen=True)
class _Minted:
    token: str
    issued_at: datetime


class ProviderToken:
    """Mints and caches the provider JWT; safe to share between threads."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        *,
        key_id: str,
        team_id: str,
        clock: Clock = SYSTEM_CLOCK,
        renew_after: timedelta = RENEW_AFTER,
    ) -> None:
        if not timedelta(minutes=20) <= renew_after < timedelta(minutes=60):
            raise ValueError("APNs provider tokens must be renewed between 20 and 60 minutes")
        self._key = key
        self.key_id = key_id
        self.team_id = team_id
        self._clock = clock
        self._renew_after = renew_after
        self._lock = threading.Lock()
        self._minted: _Minted | None = None
        self.mints = 0

    def current(self) -> str:
        """The cached token, renewed first when it is 40 minutes old."""
        with self._lock:
            now = self._clock.now()
            minted = self._minted
            if minted is None or now - minted.issued_at >= self._renew_after:
                minted = self._mint(now)
            return minted.token

    def renew(self, rejected: str) -> str:
        """Replace a token APNs called expired; a token already replaced is not renewed twice."""
        with self._lock:
            if self._minted is None or self._minted.token == rejected:
                return self._mint(self._clock.now()).token
            return self._minted.token

    def _mint(self, now: datetime) -> _Minted:
        claims = {"iss": self.team_id, "iat": int(now.timestamp())}
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.key_id})
        self._minted = _Minted(token, now)
        self.mints += 1
        return self._minted
