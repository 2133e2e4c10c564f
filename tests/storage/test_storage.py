"""Storage: the same contract on a local folder and on S3 (moto's server over real HTTP)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from liveai.errors import ConfigError, ExitCode, InvalidInput, NotFound, UpstreamError
from liveai.settings import load_settings
from liveai.storage import (
    DeleteReport,
    LocalStorage,
    Storage,
    open_storage,
    result_key,
    upload_key,
    user_prefix,
)
from liveai.storage.s3 import S3Storage
from tests.conftest import Cli
from tests.fakes.s3 import Fault, FaultProxy, S3Env

USER = uuid.UUID("6f1c1f3e-8d55-4d7a-9a43-5b0e2c1d9a10")


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "objects")
        return
    env: S3Env = request.getfixturevalue("s3_env")
    s3 = env.storage()
    yield s3
    s3.close()


@pytest.fixture
def s3(s3_env: S3Env) -> Iterator[S3Storage]:
    storage = s3_env.storage()
    yield storage
    storage.close()


# --- the contract, on both backends ---


def test_put_get_and_overwrite(storage: Storage) -> None:
    key = upload_key(USER, "photo.jpg")
    storage.put(key, b"first", content_type="image/jpeg")
    storage.put(key, b"second version", content_type="image/jpeg")
    assert storage.get(key) == b"second version"
    assert storage.exists(key)


def test_missing_object_is_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound) as caught:
        storage.get(upload_key(USER, "never.jpg"))
    assert caught.value.exit_code == ExitCode.NOT_FOUND
    assert "never.jpg" in caught.value.message
    assert not storage.exists(upload_key(USER, "never.jpg"))


def test_delete_is_idempotent(storage: Storage) -> None:
    key = result_key(USER, "video.mp4")
    storage.put(key, b"mp4", content_type="video/mp4")
    storage.delete(key)
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(NotFound):
        storage.get(key)


def test_list_by_prefix_in_key_order(storage: Storage) -> None:
    other = uuid.UUID(int=USER.int + 1)
    storage.put(result_key(USER, "b.mp4"), b"12345", content_type="video/mp4")
    storage.put(upload_key(USER, "a.jpg"), b"123", content_type="image/jpeg")
    storage.put(upload_key(other, "c.jpg"), b"1", content_type="image/jpeg")
    before = datetime.now(UTC) - timedelta(minutes=5)

    mine = list(storage.list(user_prefix(USER)))

    assert [(o.key, o.size) for o in mine] == [
        (f"users/{USER}/results/b.mp4", 5),
        (f"users/{USER}/uploads/a.jpg", 3),
    ]
    assert all(o.modified.tzinfo is not None and o.modified > before for o in mine)
    assert [o.key for o in storage.list(f"users/{USER}/up")] == [upload_key(USER, "a.jpg")]
    assert len(list(storage.list("users/"))) == 3
    assert list(storage.list("nobody/")) == []


def test_delete_many_removes_everything_named(storage: Storage) -> None:
    keys = [upload_key(USER, f"{n}.jpg") for n in range(5)]
    for key in keys:
        storage.put(key, b"x", content_type="image/jpeg")
    absent = upload_key(USER, "absent.jpg")

    report = storage.delete_many([*keys[:3], absent])

    assert report == DeleteReport(deleted=(*keys[:3], absent))
    assert report.ok
    assert [o.key for o in storage.list(user_prefix(USER))] == keys[3:]


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "../etc/passwd", "a/./b", "a\\b", "x/.."])
def test_unsafe_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidInput):
        storage.put(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidInput):
        storage.get(key)


def test_presigned_url_expiry_is_bounded(storage: Storage) -> None:
    with pytest.raises(InvalidInput, match="7 days"):
        storage.presigned_url(upload_key(USER, "a.jpg"), timedelta(days=8))
    with pytest.raises(InvalidInput):
        storage.presigned_url(upload_key(USER, "a.jpg"), timedelta(0))


# --- keys ---


def test_keys_are_grouped_by_user() -> None:
    assert user_prefix(USER) == f"users/{USER}/"
    assert upload_key(USER, "x.jpg") == f"users/{USER}/uploads/x.jpg"
    assert result_key(USER, "x.mp4") == f"users/{USER}/results/x.mp4"
    for bad in ("a/b.jpg", "..", "", ".tmp-x"):
        with pytest.raises(InvalidInput):
            upload_key(USER, bad)


# --- local specifics ---


def test_local_storage_is_the_embedded_default(isolated_env: Path) -> None:
    storage = open_storage(load_settings())
    assert isinstance(storage, LocalStorage)
    assert storage.root == isolated_env / "storage"
    storage.put("probe/a.txt", b"hi", content_type="text/plain")
    assert (isolated_env / "storage" / "probe" / "a.txt").read_bytes() == b"hi"


def test_local_presigned_url_is_none(tmp_path: Path) -> None:
    assert LocalStorage(tmp_path).presigned_url("a/b", timedelta(minutes=5)) is None


def test_local_delete_leaves_no_folder_named_after_the_user(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "objects")
    storage.put(upload_key(USER, "a.jpg"), b"x", content_type="image/jpeg")
    storage.put(result_key(USER, "b.mp4"), b"x", content_type="video/mp4")
    storage.delete_many([upload_key(USER, "a.jpg"), result_key(USER, "b.mp4")])
    assert not (tmp_path / "objects" / "users" / str(USER)).exists()
    assert (tmp_path / "objects").is_dir()


def test_local_writes_are_atomic_and_skip_partial_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = upload_key(USER, "a.jpg")
    storage.put(key, b"whole", content_type="image/jpeg")
    folder = tmp_path / "users" / str(USER) / "uploads"
    (folder / ".tmp-crashed").write_bytes(b"half")  # what a crash mid-write leaves
    assert sorted(p.name for p in folder.iterdir()) == [".tmp-crashed", "a.jpg"]
    assert [o.key for o in storage.list("")] == [key]


def test_local_delete_many_reports_failures(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("a/x", b"x", content_type="text/plain")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "y").mkdir()  # a folder where an object should be: not deletable as one
    (tmp_path / "b" / "y" / "z").write_bytes(b"z")
    report = storage.delete_many(["a/x", "b/y"])
    assert report.deleted == ("a/x", "b/y")
    assert storage.exists("b/y/z")  # a key never deletes what lies below it


# --- S3 specifics ---


def test_open_storage_chooses_s3(s3_env: S3Env) -> None:
    storage = open_storage(load_settings())
    assert isinstance(storage, S3Storage)
    assert storage.describe() == f"s3://{s3_env.bucket} at {s3_env.endpoint}"
    storage.close()


def test_s3_needs_a_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEAI_STORAGE", "s3")
    with pytest.raises(ConfigError, match="no bucket") as caught:
        open_storage(load_settings())
    assert caught.value.hint is not None
    assert "LIVEAI_S3_BUCKET" in caught.value.hint


def test_s3_stores_the_content_type(s3: S3Storage) -> None:
    s3.put(result_key(USER, "v.mp4"), b"mp4", content_type="video/mp4")
    head = s3.client.head_object(Bucket=s3.bucket, Key=result_key(USER, "v.mp4"))
    assert head["ContentType"] == "video/mp4"


def test_s3_presigned_url_fetches_the_object(s3: S3Storage) -> None:
    key = result_key(USER, "v.mp4")
    s3.put(key, b"video bytes", content_type="video/mp4")
    url = s3.presigned_url(key, timedelta(minutes=10))
    assert url is not None
    assert "X-Amz-Expires=600" in url
    with httpx.Client() as client:
        answer = client.get(url)
    assert answer.status_code == 200
    assert answer.content == b"video bytes"


def test_s3_delete_many_batches_by_1000(s3: S3Storage, s3_faults: FaultProxy) -> None:
    s3 = s3_faults.storage()  # through the counting proxy
    present = [upload_key(USER, f"{n}.jpg") for n in range(3)]
    for key in present:
        s3.put(key, b"x", content_type="image/jpeg")
    keys = [*present, *(upload_key(USER, f"gone-{n}.jpg") for n in range(2001))]
    s3_faults.seen.clear()

    report = s3.delete_many(keys)

    assert len(report.deleted) == len(keys)
    assert report.ok
    assert [line for line in s3_faults.seen if "?delete" in line] == [
        f"POST /{s3.bucket}?delete"
    ] * 3
    assert list(s3.list(user_prefix(USER))) == []
    s3.close()


def test_s3_delete_many_reports_keys_the_store_refused(s3_faults: FaultProxy) -> None:
    s3 = s3_faults.storage()
    refused = upload_key(USER, "locked.jpg")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><DeleteResult><Error>'
        f"<Key>{refused}</Key><Code>AccessDenied</Code><Message>Access Denied</Message>"
        "</Error></DeleteResult>"
    ).encode()
    s3.delete_many([])  # the first delete learns whether the bucket keeps versions
    s3_faults.inject(Fault(status=200, body=body))

    report = s3.delete_many([upload_key(USER, "a.jpg"), refused])

    assert report.deleted == (upload_key(USER, "a.jpg"),)
    assert report.failed == ((refused, "AccessDenied: Access Denied"),)
    assert not report.ok
    s3.close()


def test_s3_retries_throttling_then_succeeds(s3_faults: FaultProxy) -> None:
    s3 = s3_faults.storage()
    s3_faults.inject(Fault(503, "SlowDown"), Fault(500, "InternalError"))
    s3.put(upload_key(USER, "a.jpg"), b"data", content_type="image/jpeg")
    assert s3.get(upload_key(USER, "a.jpg")) == b"data"
    assert len([line for line in s3_faults.seen if line.startswith("PUT")]) == 3
    s3.close()


def test_s3_persistent_failure_is_an_upstream_error(s3_faults: FaultProxy) -> None:
    s3 = s3_faults.storage()
    s3_faults.inject(*[Fault(503, "ServiceUnavailable")] * 3)
    with pytest.raises(UpstreamError) as caught:
        s3.put(upload_key(USER, "a.jpg"), b"data", content_type="image/jpeg")
    assert caught.value.exit_code == ExitCode.UPSTREAM
    assert "failed to store" in caught.value.message
    s3.close()


def test_s3_refused_credentials_say_what_to_check(s3_faults: FaultProxy) -> None:
    s3 = s3_faults.storage()
    s3_faults.inject(Fault(403, "InvalidAccessKeyId"))
    with pytest.raises(UpstreamError, match="InvalidAccessKeyId") as caught:
        s3.get(upload_key(USER, "a.jpg"))
    assert caught.value.hint is not None
    assert "LIVEAI_S3_ACCESS_KEY_ID" in caught.value.hint
    s3.close()


def test_s3_malformed_answer_is_an_upstream_error(s3_faults: FaultProxy) -> None:
    s3 = s3_faults.storage()
    s3_faults.inject(*[Fault(200, body=b"<ListBucketResult><Contents>not xml")] * 3)
    with pytest.raises(UpstreamError, match="list users"):
        list(s3.list(user_prefix(USER)))
    s3.close()


def test_s3_timeout_is_an_upstream_error(
    s3_faults: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_S3_TIMEOUT_SECONDS", "0.2")
    monkeypatch.setenv("LIVEAI_S3_MAX_ATTEMPTS", "1")
    s3 = s3_faults.storage()
    s3_faults.inject(Fault(stall=5.0))
    with pytest.raises(UpstreamError, match=r"timeout|timed out"):
        s3.get(upload_key(USER, "a.jpg"))
    s3.close()


def test_s3_missing_bucket_is_a_config_error(
    s3_env: S3Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_S3_BUCKET", "liveai-no-such-bucket")
    s3 = s3_env.storage()
    with pytest.raises(ConfigError, match="does not exist"):
        s3.put("a/b", b"x", content_type="text/plain")
    s3.close()


def test_s3_without_credentials_is_a_config_error(
    s3_env: S3Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIVEAI_S3_ACCESS_KEY_ID")
    monkeypatch.delenv("LIVEAI_S3_SECRET_ACCESS_KEY")
    s3 = s3_env.storage()
    with pytest.raises(ConfigError, match="no S3 credentials"):
        s3.get("a/b")
    s3.close()


# --- the CLI and doctor ---


def test_cli_storage_check_embedded(cli_embedded: Cli, isolated_env: Path) -> None:
    result = cli_embedded("storage", "check")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"storage ok: {isolated_env / 'storage'} (write, read, delete)",
        "versioning: not applicable; object lock: not applicable",
    ]
    assert list((isolated_env / "storage").rglob("*probe*")) == []  # the probe is cleaned up


def test_cli_storage_check_on_s3(cli_embedded: Cli, s3_env: S3Env) -> None:
    result = cli_embedded("storage", "check", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ok": True,
        "storage": s3_env.storage().describe(),
        "versioning": "off",
        "object_lock": "off",
        "blocks_erasure": None,
    }


def test_cli_storage_check_missing_bucket(
    cli_embedded: Cli, s3_env: S3Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_S3_BUCKET", "liveai-absent")
    result = cli_embedded("storage", "check")
    assert result.exit_code == ExitCode.FAILURE
    assert "error: the bucket s3://liveai-absent" in result.stderr
    assert "does not exist" in result.stderr


def test_cli_storage_ls_by_user(cli: Cli, isolated_env: Path) -> None:
    created = cli("users", "create", "--issuer", "https://id.example", "--sub", "u1", "--json")
    assert created.exit_code == 0, created.stderr
    user_id = uuid.UUID(json.loads(created.stdout)["id"])
    storage = open_storage(load_settings())
    storage.put(upload_key(user_id, "a.jpg"), b"abc", content_type="image/jpeg")
    storage.put(upload_key(USER, "other.jpg"), b"x", content_type="image/jpeg")

    listed = cli("storage", "ls", "--user", "u1", "--json")

    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["key"], r["size"]) for r in rows] == [(upload_key(user_id, "a.jpg"), 3)]
    human = cli("storage", "ls", "users/")
    assert human.exit_code == 0
    assert "2 objects, 4 B in" in human.stderr


def test_cli_storage_url(cli_embedded: Cli, s3_env: S3Env) -> None:
    key = result_key(USER, "v.mp4")
    storage = s3_env.storage()
    storage.put(key, b"video", content_type="video/mp4")
    storage.close()

    result = cli_embedded("storage", "url", key, "--expires", "60")

    assert result.exit_code == 0, result.stderr
    with httpx.Client() as client:
        assert client.get(result.stdout.strip()).content == b"video"
    missing = cli_embedded("storage", "url", result_key(USER, "nope.mp4"))
    assert missing.exit_code == ExitCode.NOT_FOUND


def test_cli_storage_url_on_local_storage(cli_embedded: Cli) -> None:
    open_storage(load_settings()).put("a/b", b"x", content_type="text/plain")
    result = cli_embedded("storage", "url", "a/b")
    assert result.exit_code == ExitCode.USAGE
    assert "no download URLs" in result.stderr


def test_doctor_checks_the_bucket(s3_env: S3Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from liveai.doctor import check_storage

    good = check_storage(load_settings())
    assert good.ok, good.detail
    assert good.detail.startswith(f"s3://{s3_env.bucket} ")
    monkeypatch.setenv("LIVEAI_S3_BUCKET", "liveai-absent")
    bad = check_storage(load_settings())
    assert not bad.ok
    assert "does not exist" in bad.detail


@pytest.mark.parametrize("prefix", ["../", "../../../../etc/ssl/", "users/../..", "/etc/", "a//b"])
def test_a_list_prefix_cannot_climb_out_of_the_storage(storage: Storage, prefix: str) -> None:
    with pytest.raises(InvalidInput, match="invalid storage prefix"):
        list(storage.list(prefix))


def test_cli_storage_ls_refuses_a_prefix_outside_the_root(cli: Cli, isolated_env: Path) -> None:
    open_storage(load_settings()).put("users/x/a.jpg", b"a", content_type="image/jpeg")
    result = cli("storage", "ls", "../../../../etc/ssl/")
    assert result.exit_code == ExitCode.USAGE
    assert "invalid storage prefix" in result.stderr and "certs" not in result.stdout


def test_put_takes_a_file_and_stores_it_from_where_it_stands(storage: Storage) -> None:
    import tempfile

    key = result_key(USER, "streamed.mp4")
    with tempfile.TemporaryFile() as video:
        video.write(b"x" * 300_000)
        video.seek(0)
        storage.put(key, video, content_type="video/mp4")
    assert storage.get(key) == b"x" * 300_000
