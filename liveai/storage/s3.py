"""S3Storage: an S3-compatible bucket through boto3 (AWS S3, Tencent COS, MinIO, ...).

Tencent COS wants virtual-hosted addressing and its regional endpoint, e.g.
``LIVEAI_S3_ENDPOINT_URL=https://cos.ap-guangzhou.myqcloud.com``,
``LIVEAI_S3_REGION=ap-guangzhou``, ``LIVEAI_S3_ADDRESSING_STYLE=virtual``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from liveai.errors import ConfigError, LiveAIError, NotFound, UpstreamError
from liveai.storage.base import (
    DELETE_BATCH,
    DeleteReport,
    StoredObject,
    check_expiry,
    check_key,
    check_prefix,
    not_found,
)

if TYPE_CHECKING:
    from liveai.settings import Settings

_MISSING = {"NoSuchKey", "404", "NotFound"}
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
        with self._errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def delete_many(self, keys: Sequence[str]) -> DeleteReport:
        deleted: builtins.list[str] = []
        failed: builtins.list[tuple[str, str]] = []
        unique = builtins.list(dict.fromkeys(check_key(key) for key in keys))
        for start in range(0, len(unique), DELETE_BATCH):
            batch = unique[start : start + DELETE_BATCH]
            errors = self._delete_batch(batch)
            failed.extend(errors.items())
            deleted.extend(key for key in batch if key not in errors)
        return DeleteReport(tuple(deleted), tuple(failed))

    def _delete_batch(self, batch: builtins.list[str]) -> dict[str, str]:
        request = {"Objects": [{"Key": key} for key in batch], "Quiet": True}
        with self._errors("delete", f"{len(batch)} objects"):
            answer = self.client.delete_objects(Bucket=self.bucket, Delete=request)
        return {
            error["Key"]: f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
            for error in answer.get("Errors", [])
        }

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
