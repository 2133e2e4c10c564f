"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with key rotation.

The first key encrypts; every key decrypts, so a new key can be put in front and old
ciphertexts keep working until they are re-encrypted.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from liveai.errors import ConfigError

KEY_HINT = (
    "set LIVEAI_SIWA_TOKEN_KEYS to a Fernet key "
    "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
)


class TokenCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigError("no encryption key is configured for stored tokens", hint=KEY_HINT)
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except ValueError:
            raise ConfigError(
                "a token encryption key is not a valid Fernet key", hint=KEY_HINT
            ) from None

    @classmethod
    def from_csv(cls, value: str) -> TokenCipher:
        return cls([part for part in value.split(",") if part.strip()])

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored token cannot be decrypted with the configured keys",
                hint="keep the old key in LIVEAI_SIWA_TOKEN_KEYS after the new one",
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored token cannot be decrypted with the configured keys",
                hint="keep the old key in LIVEAI_SIWA_TOKEN_KEYS after the new one",
            ) from None
