"""Object storage: a local folder (the embedded default) or an S3-compatible bucket.

Keys are grouped by user (``users/<id>/uploads/...``, ``users/<id>/results/...``) so
erasure finds everything a user has with one prefix listing. Every implementation behaves
the same: a missing key raises NotFound, deleting a missing key is fine, listing is by
key prefix in key order. ``S3Storage`` lives in ``liveai.storage.s3`` (it imports boto3).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from liveai import errors
from liveai.storage.base import (
    DELETE_BATCH,
    MAX_PRESIGN_EXPIRY,
    DeleteReport,
    Protection,
    Storage,
    StoredObject,
    StoredVersion,
    check_key,
    result_key,
    upload_key,
    user_prefix,
)
from liveai.storage.local import LocalStorage

if TYPE_CHECKING:
    from liveai.settings import Settings

__all__ = [
    "DELETE_BATCH",
    "MAX_PRESIGN_EXPIRY",
    "DeleteReport",
    "LocalStorage",
    "Protection",
    "Storage",
    "StoredObject",
    "StoredVersion",
    "check_key",
    "open_storage",
    "probe_storage",
    "result_key",
    "upload_key",
    "user_prefix",
]


def open_storage(settings: Settings) -> Storage:
    """The storage the settings choose: LIVEAI_STORAGE=local (the default) or s3."""
    if settings.storage == "s3":
        # In the function: boto3 takes long to import, and only S3 storage needs it.
        from liveai.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    return LocalStorage(settings.resolved_storage_dir)


def probe_storage(storage: Storage) -> None:
    """Prove the storage works end to end: put, get back the same bytes, delete."""
    key = f"doctor/probe-{secrets.token_hex(8)}"
    payload = secrets.token_bytes(32)
    storage.put(key, payload, content_type="application/octet-stream")
    try:
        if storage.get(key) != payload:
            raise errors.UpstreamError(
                f"{storage.describe()} returned different bytes than were stored",
                hint="check the storage service or the proxy in front of it",
            )
    finally:
        storage.delete(key)  # every version, on a versioned bucket
