"""Erasure of a heavy user on PostgreSQL with a versioned S3 bucket on moto (loopback).

Seeds two identical heavy users (100,000 ledger transfers, 10,000 tasks with a photo, a
video stored twice and a poster each, 10,000 audit events), each in its own versioned
bucket. One is erased by `Eraser` in a child process (which reports its peak memory and
its S3 requests); the other, in the same run, by the baseline: plain SQL deleting and
moving the same rows, and raw ListObjectVersions + DeleteObjects of the same versions.
Prints both times, the ratio (target <= 3x), S3 requests per 1,000 versions (target <= 1
DeleteObjects; listings shown too) and peak memory (target < 200 MB).

Objects are seeded small (64 bytes: the request count, not the bytes, is what S3 erasure
costs), straight into moto's in-process backend (seeding is not what is timed).

    python bench/erasure.py [--transfers 100000] [--tasks 10000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
from heavy_user import insert_tasks, insert_transfers  # bench/ is the script's folder
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, text

from liveai import audit
from liveai.db import Database, make_engine, upgrade
from liveai.storage import result_key, upload_key
from liveai.users import create_user

KEY = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench", "region_name": "us-east-1"}
RUN_ERASURE = """
import json, sys, time, uuid
import boto3
from liveai.db import Database, make_engine
from liveai.privacy.erasure import Eraser, Upstream
from liveai.storage.s3 import S3Storage
url, endpoint, bucket, user = sys.argv[1:5]
client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                      aws_secret_access_key="bench", region_name="us-east-1")
calls = {}
def count(event_name, **_):
    name = event_name.rsplit(".", 1)[-1]
    calls[name] = calls.get(name, 0) + 1
client.head_bucket(Bucket=bucket)  # warm, as the baseline's client is
client.meta.events.register("before-call.s3", count)
database = Database(make_engine(url))
steps = {}
def timed(name, method):
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            steps[name] = round(steps.get(name, 0) + time.perf_counter() - began, 2)
    return wrapper
for name in [n for n in vars(Eraser) if n.startswith(("_step_", "_before_"))]:
    setattr(Eraser, name, timed(name.split("_", 2)[-1], getattr(Eraser, name)))
start = time.perf_counter()
run = Eraser(database, S3Storage(client, bucket, endpoint=endpoint), Upstream()).run(
    uuid.UUID(user))
elapsed = time.perf_counter() - start
database.close()
peak = next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": elapsed, "peak_mb": peak, "calls": calls, "steps": steps,
                  "report": {k: v for k, v in run.report.items() if k != "manual"}}))
"""
BARE = (
    "print(next(int(l.split()[1]) / 1024 for l in open('/proc/self/status') "
    "if l.startswith('VmHWM:')))"
)


def seed(database: Database, bucket: str, transfers: int, tasks: int, tag: str) -> uuid.UUID:
    """A heavy user: transfers (1% with operator keys naming the subject), tasks with their
    uploads and transfer records, audit events, and the media, videos in two versions."""
    subject = f"heavy-{tag}"
    with database.transaction() as session:
        user = create_user(
            session,
            issuer="https://bench/oidc",
            subject=subject,
            email=f"{tag}@privaterelay.appleid.com",
            display_name=f"Heavy {tag}",
        )
        insert_transfers(
            session,
            user.id,
            transfers,
            key=lambda n: f"promo:{subject}:{n}" if n % 100 == 0 and n else f"bench:{tag}:{n}",
        )
        task_rows = insert_tasks(
            session,
            user.id,
            tasks,
            upload_bytes=64,
            posters=True,
            uploads_deleted=False,
        )
        events = [
            audit.Event("task.succeeded", user.id, {"task_id": str(t["id"]), "charged": 10})
            for t in task_rows
        ]
        audit.record_many(session, events)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for n in range(tasks):
        backend.put_object(bucket, upload_key(user.id, f"{n}.jpg"), b"j" * 64)
        for _version in range(2):
            backend.put_object(bucket, result_key(user.id, f"{n}.mp4"), b"v" * 64)
        backend.put_object(bucket, result_key(user.id, f"{n}.jpg"), b"p" * 64)
    return user.id


BASELINE_SQL = [
    "INSERT INTO users (id, status, created_at, updated_at) VALUES (:tomb, 'erased', now(), now())",
    "UPDATE data_transfers SET task_id = NULL, user_id = :tomb WHERE user_id = :user",
    "DELETE FROM tasks WHERE user_id = :user",
    "DELETE FROM uploads WHERE user_id = :user",
    "DELETE FROM devices WHERE user_id = :user",
    "DELETE FROM identities WHERE user_id = :user",
    "UPDATE ledger_transfers SET user_id = :tomb WHERE user_id = :user",
    "UPDATE ledger_accounts SET user_id = :tomb WHERE user_id = :user",
    "DELETE FROM users WHERE id = :user",
]


def baseline(
    database: Database, client: object, bucket: str, user_id: uuid.UUID
) -> tuple[float, float, int]:
    """Plain SQL for the same rows, raw listing and DeleteObjects for the same versions;
    the seconds of each part and the versions deleted."""
    start = time.perf_counter()
    with database.engine.begin() as conn:
        params = {"user": user_id, "tomb": uuid.uuid4()}
        for statement in BASELINE_SQL:
            conn.execute(text(statement), params)
    sql_s = time.perf_counter() - start
    versions = 0
    prefix = f"users/{user_id}/"
    while True:
        page = client.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=1000)  # type: ignore[attr-defined]
        found = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        if not found:
            break
        versions += len(found)
        client.delete_objects(Bucket=bucket, Delete={"Objects": found, "Quiet": True})  # type: ignore[attr-defined]
    return sql_s, time.perf_counter() - start - sql_s, versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    home = tempfile.mkdtemp(prefix="liveai-bench-")
    os.environ.update(LIVEAI_HOME=home, LIVEAI_AUDIT_KEY=secrets.token_hex(32))  # the child's too
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"liveai_bench_erasure_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    database = Database(make_engine(url))
    try:
        upgrade(database.engine)
        client = boto3.client("s3", endpoint_url=endpoint, **KEY)
        for bucket in ("erased", "baseline"):
            client.create_bucket(Bucket=bucket)
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        print(f"seeding two users: {args.transfers:,} transfers, {args.tasks:,} tasks ...")
        erased = seed(database, "erased", args.transfers, args.tasks, "a")
        kept = seed(database, "baseline", args.transfers, args.tasks, "b")
        with database.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        sql_s, s3_s, versions = baseline(database, client, "baseline", kept)
        base_s = sql_s + s3_s
        done = subprocess.run(
            [sys.executable, "-c", RUN_ERASURE, url, endpoint, "erased", str(erased)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        bare = float(
            subprocess.run(
                [sys.executable, "-c", BARE], check=True, capture_output=True, text=True
            ).stdout
        )
        left = client.list_object_versions(Bucket="erased", Prefix=f"users/{erased}/")
        calls = result["calls"]
        deletes = calls.get("DeleteObjects", 0)
        listings = calls.get("ListObjectVersions", 0)
        per = versions / 1000
        print(f"versions per user: {versions:,}; report: {result['report']}")
        print(f"baseline (plain SQL + raw ListObjectVersions/DeleteObjects): {base_s:8.2f} s")
        print(f"  of which SQL {sql_s:.2f} s, S3 {s3_s:.2f} s")
        print(f"liveai erasure: {result['seconds']:8.2f} s")
        print(f"  by step (s): {result['steps']}")
        print(f"time ratio: {result['seconds'] / base_s:.2f}x (target <= 3x)")
        print(
            f"S3 DeleteObjects per 1,000 versions: {deletes / per:.2f} (target <= 1); "
            f"ListObjectVersions per 1,000 versions: {listings / per:.2f}; all calls: {calls}"
        )
        print(
            f"peak memory: erasure {result['peak_mb']:.1f} MB (target < 200 MB); "
            f"bare python -c {bare:.1f} MB"
        )
        print(
            "versions left after the erasure:",
            len(left.get("Versions", [])) + len(left.get("DeleteMarkers", [])),
        )
    finally:
        database.close()
        server.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
