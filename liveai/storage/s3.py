"""S3Storage: an S3-compatible bucket through boto3 (AWS S3, Tencent COS, MinIO, ...).

Tencent COS wants virtual-hosted addressing and its regional endpoint, e.g.
``LIVEAI_S3_ENDPOINT_URL=https://cos.ap-guangzhou.myqcloud.com``,
``LIVEAI_S3_REGION=ap-guangzhou``, ``LIVEAI_S3_ADDRESSING_STYLE=virtual``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from liveai.errors import ConfigError, LiveAIError, NotFound, UpstreamError
from liveai.storage.base import (
    DELETE_BATCH,
    DeleteReport,
    Protection,
    StoredObject,
    StoredVersion,
    check_expiry,
    check_key,
    check_prefix,
    not_found,
)

if TYPE_CHECKING:
    from liveai.settings import Settings

_MISSING = {"NoSuchKey", "404", "NotFound"}
FOLDER_LISTING = 20  # keys wanted from one folder at which listing the folder is cheaper
_REFUSED = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "403",
    "Forbidden",
}
_CREDENTIALS_HINT = (
    "check LIVEAI_S3_ACCESS_KEY_ID / LIVEAI_S3_SECRET_ACCESS_KEY (or the AWS credential "
    "chain) and the bucket's permissions"
)


def new_session() -> boto3.session.Session:
    """A fresh boto3 session (they are not thread-safe, so none is shared by default)."""
    return boto3.session.Session()


def make_client(settings: Settings, session: boto3.session.Session | None = None) -> Any:
    """A boto3 S3 client from the settings; credentials fall back to boto3's own chain.

    Pass a ``session`` to reuse its parsed service models: a new one costs a fraction
    of a second to build.
    """
    config = Config(
        s3={"addressing_style": settings.s3_addressing_style},
        signature_version="s3v4",
        connect_timeout=settings.s3_timeout_seconds,
        read_timeout=settings.s3_timeout_seconds,
        retries={"total_max_attempts": settings.s3_max_attempts, "mode": "standard"},
        # S3-compatible stores (COS, older MinIO) refuse the CRC headers newer
        # botocore adds by default; send checksums only where the API requires them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    key_id = settings.s3_access_key_id
    secret = settings.s3_secret_access_key
    return (session or new_session()).client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region or None,
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=config,
    )


class S3Storage:
    """Objects in one bucket; a key is the object's key as is."""

    def __init__(self, client: Any, bucket: str, *, endpoint: str | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint
        self._versioned: bool | None = None  # learnt on the first delete

    @classmethod
    def from_settings(
        cls, settings: Settings, *, session: boto3.session.Session | None = None
    ) -> S3Storage:
        if not settings.s3_bucket:
            raise ConfigError(
                "LIVEAI_STORAGE is s3 but no bucket is set",
                hint="set LIVEAI_S3_BUCKET (and LIVEAI_S3_ENDPOINT_URL for Tencent COS)",
            )
        client = make_client(settings, session)
        return cls(client, settings.s3_bucket, endpoint=settings.s3_endpoint_url)

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}{where}"

    def close(self) -> None:
        self.client.close()

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str) -> None:
        with self._errors("store", key):
            self.client.put_object(
                Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type
            )

    def get(self, key: str) -> bytes:
        with self._errors("read", key):
            answer = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
            with answer["Body"] as body:
                data: bytes = body.read()
        return data

    def delete(self, key: str) -> None:
        report = self.delete_many([key])
        if report.failed:
            _, reason = report.failed[0]
            raise UpstreamError(
                f"{self.describe()} refused to delete {key}: {reason}",
                hint="check the bucket's permissions and object lock, then retry",
            )

    def delete_many(self, keys: Sequence[str]) -> DeleteReport:
        """Delete the keys; on a bucket that keeps versions (or may), every version and
        delete marker of each key, found by listing (see `_versions_of`)."""
        unique = builtins.list(dict.fromkeys(check_key(key) for key in keys))
        if not self._keeps_versions():
            return self._delete_all([(key, None) for key in unique])
        report = self._delete_all(self._versions_of(unique))
        failed = {key for key, _ in report.failed}
        return DeleteReport(tuple(k for k in unique if k not in failed), report.failed)

    def _versions_of(self, keys: Sequence[str]) -> builtins.list[tuple[str, str | None]]:
        """(key, version id) of every version of the keys. Keys that share a folder with
        many others are found by listing the folder (a request per 1,000 versions in it);
        the others by listing each key (a request each)."""
        folders: dict[str, builtins.list[str]] = {}
        for key in keys:
            folders.setdefault(key.rpartition("/")[0] + "/", []).append(key)
        found: builtins.list[tuple[str, str | None]] = []
        for folder, wanted in folders.items():
            targets = [folder] if len(wanted) >= FOLDER_LISTING else wanted
            chosen = set(wanted)
            for prefix in targets:
                found.extend(
                    (v.key, v.version_id) for v in self.versions(prefix) if v.key in chosen
                )
        return found

    def purge(self, prefix: str) -> DeleteReport:
        """Every version and delete marker under the prefix: one listing and one
        DeleteObjects request for each 1,000 versions. Each listing starts afresh (a
        listing continued past versions just deleted can skip some); it stops at a
        refusal, whose versions would come first again."""
        deleted: builtins.list[str] = []
        while page := self._first_versions(prefix):
            report = self._delete_all([(v.key, v.version_id) for v in page])
            deleted.extend(report.deleted)
            if report.failed:
                return DeleteReport(tuple(dict.fromkeys(deleted)), report.failed)
        return DeleteReport(tuple(dict.fromkeys(deleted)))

    def _first_versions(self, prefix: str) -> builtins.list[StoredVersion]:
        with self._errors("list versions of", prefix or "(everything)"):
            page = self.client.list_object_versions(
                Bucket=self.bucket, Prefix=prefix, MaxKeys=DELETE_BATCH
            )
        found = [_version(item) for item in page.get("Versions", [])]
        found.extend(_marker(item) for item in page.get("DeleteMarkers", []))
        return found

    def _delete_all(self, targets: Sequence[tuple[str, str | None]]) -> DeleteReport:
        deleted: builtins.list[str] = []
        failed: builtins.list[tuple[str, str]] = []
        for start in range(0, len(targets), DELETE_BATCH):
            batch = targets[start : start + DELETE_BATCH]
            errors = self._delete_batch(batch)
            failed.extend(errors.items())
            deleted.extend(key for key, _ in batch if key not in errors)
        return DeleteReport(tuple(dict.fromkeys(deleted)), tuple(failed))

    def _delete_batch(self, batch: Sequence[tuple[str, str | None]]) -> dict[str, str]:
        objects = [
            {"Key": key} if version is None else {"Key": key, "VersionId": version}
            for key, version in batch
        ]
        request = {"Objects": objects, "Quiet": True}
        with self._errors("delete", f"{len(batch)} objects"):
            # Lifts a GOVERNANCE-mode lock where our role may; COMPLIANCE locks still refuse.
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete=request, BypassGovernanceRetention=True
            )
        return {
            error["Key"]: f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
            for error in answer.get("Errors", [])
        }

    def _keeps_versions(self) -> bool:
        """Whether the bucket versions (or once did, or we may not ask): then a plain delete
        only adds a delete marker."""
        if self._versioned is None:
            self._versioned = self._versioning() != "off"
        return self._versioned

    def _versioning(self) -> str:
        """ "off" (never enabled), "enabled", "suspended", or "unknown (why)"."""
        try:
            answer = self.client.get_bucket_versioning(Bucket=self.bucket)
        except ClientError as exc:
            error = _client_error(exc, "read the versioning of", "the bucket", self.describe())
            if isinstance(error, ConfigError):
                raise error from None
            return f"unknown ({error.message})"
        except BotoCoreError as exc:
            return f"unknown ({exc})"
        return str(answer.get("Status") or "off").lower()

    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        for page in self._version_pages(prefix):
            yield from page

    def _version_pages(self, prefix: str) -> Iterator[builtins.list[StoredVersion]]:
        paginator = self.client.get_paginator("list_object_versions")
        with self._errors("list versions of", prefix or "(everything)"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                found = [_version(item) for item in page.get("Versions", [])]
                found.extend(_marker(item) for item in page.get("DeleteMarkers", []))
                if found:
                    yield found

    def clean_partial(self, before: datetime) -> int:
        return 0  # a put is one request: S3 keeps all of it or nothing

    def protection(self) -> Protection:
        versioning = self._versioning()
        lock, blocks = self._object_lock()
        return Protection(versioning=versioning, object_lock=lock, blocks_erasure=blocks)

    def _object_lock(self) -> tuple[str, str | None]:
        """The bucket's object lock, and why it stops an erasure (a COMPLIANCE default)."""
        try:
            answer = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"):
                return "off", None
            return f"unknown ({code or 'error'})", None
        except BotoCoreError as exc:
            return f"unknown ({exc})", None
        config = answer.get("ObjectLockConfiguration", {})
        if config.get("ObjectLockEnabled") != "Enabled":
            return "off", None
        rule = config.get("Rule", {}).get("DefaultRetention")
        if not rule:
            return "enabled, no default retention", None
        mode = rule.get("Mode", "?")
        period = f"{rule['Days']} days" if rule.get("Days") else f"{rule.get('Years', 0)} years"
        state = f"enabled, {mode} for {period} by default"
        if mode == "COMPLIANCE":
            return state, (
                f"{self.describe()} keeps every object version for {period} in COMPLIANCE "
                "mode, which no one can shorten or lift"
            )
        return state, None

    def list(self, prefix: str) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors("list", prefix or "(everything)"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=check_prefix(prefix)):
                for item in page.get("Contents", []):
                    modified = item["LastModified"].astimezone(UTC)
                    yield StoredObject(item["Key"], int(item["Size"]), modified)

    def exists(self, key: str) -> bool:
        try:
            with self._errors("check", key):
                self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except NotFound:
            return False
        return True

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        check_expiry(expires)
        with self._errors("sign", key):
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": check_key(key)},
                ExpiresIn=int(expires.total_seconds()),
            )
        return url

    @contextmanager
    def _errors(self, verb: str, what: str) -> Iterator[None]:
        """Turn boto3's exceptions into liveai errors that say what to do."""
        try:
            yield
        except ClientError as exc:
            raise _client_error(exc, verb, what, self.describe()) from None
        except NoCredentialsError:
            raise ConfigError("no S3 credentials found", hint=_CREDENTIALS_HINT) from None
        except BotoCoreError as exc:
            raise UpstreamError(
                f"cannot {verb} {what} in {self.describe()}: {exc}",
                hint="check LIVEAI_S3_ENDPOINT_URL and the network; retry later",
            ) from None


def _version(item: dict[str, Any]) -> StoredVersion:
    kind = "object" if item.get("IsLatest") else "version"
    modified = item["LastModified"].astimezone(UTC)
    return StoredVersion(item["Key"], item.get("VersionId"), kind, int(item["Size"]), modified)


def _marker(item: dict[str, Any]) -> StoredVersion:
    modified = item["LastModified"].astimezone(UTC)
    return StoredVersion(item["Key"], item.get("VersionId"), "delete marker", 0, modified)


def _client_error(exc: ClientError, verb: str, what: str, where: str) -> LiveAIError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code in _MISSING:
        return not_found(what)
    if code == "NoSuchBucket":
        return ConfigError(
            f"the bucket {where} does not exist",
            hint="create it, or fix LIVEAI_S3_BUCKET / LIVEAI_S3_ENDPOINT_URL",
        )
    if code in _REFUSED:
        return UpstreamError(f"{where} refused to {verb} {what} ({code})", hint=_CREDENTIALS_HINT)
    message = error.get("Message") or code or "unknown error"
    return UpstreamError(
        f"{where} failed to {verb} {what}: {message}",
        hint="retry later; if it persists, check the storage service's status",
    )
