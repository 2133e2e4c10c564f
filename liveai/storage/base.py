"""The storage interface, its value types, and the key layout shared by every backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol

from liveai.errors import InvalidInput, NotFound

MAX_PRESIGN_EXPIRY = timedelta(days=7)  # the SigV4 limit
DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1000 keys per request
TMP_PREFIX = ".tmp-"  # LocalStorage's in-progress writes; never a valid key part


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class DeleteReport:
    """What a batch delete did; keys that were already absent count as deleted."""

    deleted: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (key, reason)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class StoredVersion:
    """Anything under a key that still holds bytes or history: the current object, an
    older version or a delete marker (versioned buckets), or a partial write (local)."""

    key: str
    version_id: str | None
    kind: str  # "object", "version", "delete marker" or "partial"
    size: int
    modified: datetime


@dataclass(frozen=True)
class Protection:
    """What the store keeps on its own after a delete: versions, object locks."""

    versioning: str  # "not applicable", "off", "enabled", "suspended" or "unknown (...)"
    object_lock: str  # "not applicable", "off", or its mode and default retention
    blocks_erasure: str | None = None  # why a delete cannot remove every copy, if it cannot


class Storage(Protocol):
    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str) -> None:
        """Store ``data`` (bytes, or a file read from where it stands) under ``key``,
        replacing any object already there."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; NotFound if there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens if it is already gone."""
        ...

    def delete_many(self, keys: Sequence[str]) -> DeleteReport:
        """Remove the objects and, on a versioned bucket, every version of each key."""
        ...

    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        """Everything under ``prefix`` that holds bytes or history (see StoredVersion)."""
        ...

    def purge(self, prefix: str) -> DeleteReport:
        """Remove everything `versions` finds under ``prefix``; the report names keys."""
        ...

    def clean_partial(self, before: datetime) -> int:
        """Remove writes abandoned (by a crash) before ``before``; how many."""
        ...

    def protection(self) -> Protection:
        """The store's versioning and object-lock state."""
        ...

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``, in key order."""
        ...

    def exists(self, key: str) -> bool: ...

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        """A URL that fetches the object until ``expires`` from now; None if unsupported."""
        ...

    def describe(self) -> str:
        """Where the objects live, for humans (no secrets)."""
        ...


def user_prefix(user_id: uuid.UUID) -> str:
    return f"users/{user_id}/"


def upload_key(user_id: uuid.UUID, name: str) -> str:
    return f"{user_prefix(user_id)}uploads/{_check_name(name)}"


def result_key(user_id: uuid.UUID, name: str) -> str:
    return f"{user_prefix(user_id)}results/{_check_name(name)}"


def _check_name(name: str) -> str:
    if "/" in name:
        raise InvalidInput(f"invalid object name {name!r}", hint="use a plain file name")
    return check_key(name)


def check_key(key: str) -> str:
    """Refuse keys that could escape a folder or mean different things on S3 and on disk."""
    parts = key.split("/")
    if (
        not key
        or "\\" in key
        or "\x00" in key
        or any(part in ("", ".", "..") or part.startswith(TMP_PREFIX) for part in parts)
    ):
        raise InvalidInput(
            f"invalid storage key {key!r}",
            hint="keys are relative, '/'-separated names without empty, '.' or '..' parts",
        )
    return key


def check_prefix(prefix: str) -> str:
    """Refuse list prefixes that could escape a folder: every part but a trailing partial name
    must be a valid key part ("" lists everything, "users/" one folder)."""
    *folders, last = prefix.split("/")
    if prefix and (
        "\\" in prefix
        or "\x00" in prefix
        or last in (".", "..")
        or any(part in ("", ".", "..") or part.startswith(TMP_PREFIX) for part in folders)
    ):
        raise InvalidInput(
            f"invalid storage prefix {prefix!r}",
            hint="a prefix is the start of a key: relative, '/'-separated, without '.' or '..'",
        )
    return prefix


def check_expiry(expires: timedelta) -> None:
    if not timedelta(0) < expires <= MAX_PRESIGN_EXPIRY:
        raise InvalidInput(
            f"a presigned URL must expire within 7 days, not in {expires}",
            hint="pass an expiry between 1 second and 7 days",
        )


def not_found(key: str) -> NotFound:
    return NotFound(f"no stored object {key!r}", hint="it was deleted or never stored")
