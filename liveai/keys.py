"""Apple .p8 signing keys given in a setting, as PEM text or the path of the file.

A key is secret, and a key pasted without its PEM armour looks like a path: messages name
the setting and never repeat its value, and a value that cannot be a path (base64 key
material, several lines) is reported as a malformed key rather than a missing file.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from liveai.errors import ConfigError

PEM_MARK = "-----BEGIN"
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")
NAME_MAX = 255


def load_p8(value: str, *, setting: str, hint: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key ``setting`` holds (PEM text) or names (a file path)."""
    pem = p8_text(value, setting=setting, hint=hint)
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{setting} is not a PEM private key", hint=hint) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{setting} is not a P-256 (ES256) key", hint=hint)
    return key


def p8_text(value: str, *, setting: str, hint: str) -> str:
    """The PEM text of the key ``setting`` holds or names; not yet checked to be a key."""
    if PEM_MARK in value:
        return value
    if not could_be_path(value):
        raise ConfigError(
            f"{setting} is malformed: it is neither a PEM key nor a file path",
            hint="paste the whole .p8 file, -----BEGIN PRIVATE KEY----- line included, "
            "or give the file's path",
        )
    try:
        return Path(value).expanduser().read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise ConfigError(
            f"cannot read the key file {setting} names: {reason}", hint=hint
        ) from None


def could_be_path(value: str) -> bool:
    """False for what is surely key material: several lines, over-long names, or base64
    that decodes to a DER structure."""
    if not value.strip() or any(ch in value for ch in "\n\r\x00"):
        return False
    if any(len(part.encode()) > NAME_MAX for part in value.split("/")):
        return False
    return not _is_der_base64(value)


def _is_der_base64(value: str) -> bool:
    compact = "".join(value.split())
    if len(compact) < 64 or not _BASE64.fullmatch(compact):
        return False
    try:
        return base64.b64decode(compact, validate=True)[:1] == b"\x30"  # an ASN.1 SEQUENCE
    except (binascii.Error, ValueError):
        return False
