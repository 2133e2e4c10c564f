"""What a store keeps after a delete: versions and delete markers on a versioned bucket
(moto over HTTP), partial writes in a local folder, and object locks."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveai.db import Database
from liveai.storage import LocalStorage, result_key, upload_key, user_prefix
from liveai.storage.base import TMP_PREFIX
from liveai.storage.s3 import S3Storage
from tests.conftest import Cli
from tests.fakes.s3 import ACCESS_KEY, REGION, SECRET_KEY, FaultProxy, S3Env

USER = uuid.UUID("0b8a43d2-5a57-4d0e-8f0f-3c4c6a3f5e11")


def admin(env: S3Env):  # type: ignore[no-untyped-def]
    return env.session.client(
        "s3",
        endpoint_url=env.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def enable_versioning(env: S3Env) -> None:
    client = admin(env)
    client.put_bucket_versioning(Bucket=env.bucket, VersioningConfiguration={"Status": "Enabled"})
    client.close()


@pytest.fixture
def versioned(s3_env: S3Env) -> Iterator[S3Storage]:
    enable_versioning(s3_env)
    storage = s3_env.storage()
    yield storage
    storage.close()


def test_delete_many_removes_every_version_of_a_key(versioned: S3Storage) -> None:
    key, other = result_key(USER, "v.mp4"), result_key(USER, "kept.mp4")
    for body in (b"first", b"second", b"third"):
        versioned.put(key, body, content_type="video/mp4")
    versioned.put(other, b"kept", content_type="video/mp4")

    report = versioned.delete_many([key])

    assert report.ok and report.deleted == (key,)
    assert [v.key for v in versioned.versions(user_prefix(USER))] == [other]


def test_purge_leaves_no_version_or_marker(versioned: S3Storage, s3_faults: FaultProxy) -> None:
    storage = s3_faults.storage()
    keys = [upload_key(USER, f"{n}.jpg") for n in range(520)]
    for key in keys:
        storage.put(key, b"a", content_type="image/jpeg")
        storage.put(key, b"b", content_type="image/jpeg")
    storage.delete_many(keys[:10])  # partly gone already
    versioned.put(upload_key(USER, "0.jpg"), b"again", content_type="image/jpeg")
    left = len(list(storage.versions(user_prefix(USER))))
    assert left > 1000
    s3_faults.seen.clear()

    report = storage.purge(user_prefix(USER))

    assert report.ok
    assert list(storage.versions(user_prefix(USER))) == []
    deletes = [line for line in s3_faults.seen if "?delete" in line]
    assert len(deletes) == -(-left // 1000)  # one DeleteObjects per 1,000 versions
    storage.close()


def test_many_keys_of_one_folder_are_found_with_one_listing(
    versioned: S3Storage, s3_faults: FaultProxy
) -> None:
    storage = s3_faults.storage()
    keys = [upload_key(USER, f"{n:02d}.jpg") for n in range(25)]
    kept = upload_key(USER, "kept.jpg")
    for key in [*keys, kept]:
        storage.put(key, b"a", content_type="image/jpeg")
        storage.put(key, b"b", content_type="image/jpeg")
    storage.delete_many([])  # learn the bucket's versioning
    s3_faults.seen.clear()

    assert storage.delete_many(keys).ok

    assert [v.key for v in storage.versions(user_prefix(USER))] == [kept, kept]
    listings = [line for line in s3_faults.seen if "?versions" in line]
    assert len(listings) == 2  # the folder once, then the check above
    storage.close()


def test_plain_deletes_on_a_versioned_bucket_leave_nothing_retrievable(
    versioned: S3Storage,
) -> None:
    key = upload_key(USER, "p.jpg")
    versioned.put(key, b"photo", content_type="image/jpeg")
    versioned.delete(key)
    assert list(versioned.versions(key)) == []


def test_protection_reports_versioning_and_a_compliance_lock(s3_env: S3Env) -> None:
    client = admin(s3_env)
    locked = f"liveai-lock-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(
        Bucket=locked,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 3}},
        },
    )
    storage = S3Storage(client, locked, endpoint=s3_env.endpoint)
    kept = storage.protection()
    assert kept.versioning == "enabled"
    assert kept.object_lock == "enabled, COMPLIANCE for 3 days by default"
    assert kept.blocks_erasure and "COMPLIANCE" in kept.blocks_erasure

    plain = S3Storage(client, s3_env.bucket).protection()
    assert (plain.versioning, plain.object_lock, plain.blocks_erasure) == ("off", "off", None)
    client.close()


def test_cli_storage_check_reports_versioning(cli_embedded: Cli, s3_env: S3Env) -> None:
    enable_versioning(s3_env)
    result = cli_embedded("storage", "check", "--json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["versioning"], shown["object_lock"]) == ("enabled", "off")
    storage = s3_env.storage()
    assert not [v for v in storage.versions("doctor/")]  # the probe left no version
    storage.close()


def _partial(root: Path, key: str, age_s: float) -> Path:
    folder = root.joinpath(*key.split("/")[:-1])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TMP_PREFIX}crashed"
    path.write_bytes(b"a whole video")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_local_partial_writes_are_seen_purged_and_swept(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "objects")
    key = result_key(USER, "v.mp4")
    storage.put(key, b"video", content_type="video/mp4")
    crashed = _partial(storage.root, key, age_s=7200)

    assert [v.kind for v in storage.versions(user_prefix(USER))] == ["partial", "object"]
    assert [o.key for o in storage.list(user_prefix(USER))] == [key]
    assert storage.clean_partial(datetime.now(UTC) - timedelta(hours=1)) == 1
    assert not crashed.exists() and storage.exists(key)

    fresh = _partial(storage.root, key, age_s=0)
    assert storage.clean_partial(datetime.now(UTC) - timedelta(hours=1)) == 0  # may be live
    assert storage.purge(user_prefix(USER)).ok
    assert not fresh.exists() and list(storage.versions(user_prefix(USER))) == []
    assert not (storage.root / "users").exists()


def test_cli_ls_versions_shows_partial_writes(cli_embedded: Cli, isolated_env: Path) -> None:
    storage = LocalStorage(isolated_env / "storage")
    key = result_key(USER, "v.mp4")
    storage.put(key, b"video", content_type="video/mp4")
    _partial(storage.root, key, age_s=0)
    plain = cli_embedded("storage", "ls", "users/", "--json")
    assert [r["key"] for r in json.loads(plain.stdout)] == [key]
    every = cli_embedded("storage", "ls", "users/", "--versions", "--json")
    assert every.exit_code == 0, every.stderr
    assert [r["kind"] for r in json.loads(every.stdout)] == ["partial", "object"]


def test_the_upload_sweep_removes_every_version_and_abandoned_writes(
    database: Database, versioned: S3Storage, tmp_path: Path
) -> None:
    from liveai.models import Upload
    from liveai.retention.uploads import sweep_uploads
    from liveai.users import create_user

    now = datetime(2026, 12, 1, tzinfo=UTC)
    with database.transaction() as session:
        user = create_user(session, issuer="https://i/oidc", subject="sweep")
        key = upload_key(user.id, "p.jpg")
        versioned.put(key, b"first", content_type="image/jpeg")
        versioned.put(key, b"second", content_type="image/jpeg")
        session.add(
            Upload(
                user_id=user.id,
                storage_key=key,
                media_type="image/jpeg",
                size_bytes=6,
                sha256="0" * 64,
                width=640,
                height=480,
                created_at=now - timedelta(days=40),
                delete_after=now - timedelta(days=10),
            )
        )
    report = sweep_uploads(database, versioned, now=now)
    assert report.removed == 1 and not report.failed
    assert list(versioned.versions(key)) == []

    local = LocalStorage(tmp_path / "local")
    crashed = _partial(local.root, upload_key(user.id, "q.jpg"), age_s=7200)
    assert sweep_uploads(database, local, now=datetime.now(UTC)).partial_removed == 1
    assert not crashed.exists()
