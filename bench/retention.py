"""Retention sweep of expired uploads on PostgreSQL with S3 on moto (loopback).

Seeds N expired uploads (rows, and S3 objects in moto running in this process), sweeps
them with `sweep_uploads`, and prints: the sweep time next to a baseline measured in the
same run on an identical second data set (raw boto3 DeleteObjects of the same keys, 1,000
a request, plus one SQL UPDATE marking the rows), the ratio, the S3 requests per 1,000
objects removed (target <= 1), and the query plan of the due-item selection (it must use
an index).

    python bench/retention.py [--uploads 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, insert, text, update

from liveai.db import Database, make_engine, upgrade
from liveai.models import User
from liveai.models.generation import Upload
from liveai.retention.uploads import due_uploads, sweep_uploads
from liveai.storage.s3 import S3Storage

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KEY = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench", "region_name": "us-east-1"}


def s3_client(endpoint: str) -> object:
    return boto3.client("s3", endpoint_url=endpoint, **KEY)


def seed(database: Database, bucket: str, count: int) -> tuple[uuid.UUID, list[str]]:
    """Objects put straight into moto's in-process backend (seeding is not what is timed;
    200,000 puts over HTTP take moto most of an hour), then the rows."""
    user_id = uuid.uuid4()
    keys = [f"users/{user_id}/uploads/{n:06d}.jpg" for n in range(count)]
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key in keys:
        backend.put_object(bucket, key, b"j" * 64)
    with database.transaction() as session:
        session.execute(insert(User).values(id=user_id, created_at=NOW, updated_at=NOW))
        rows = [
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "storage_key": k,
                "media_type": "image/jpeg",
                "size_bytes": 64,
                "sha256": "0" * 64,
                "width": 300,
                "height": 300,
                "created_at": NOW - timedelta(days=40),
                "delete_after": NOW - timedelta(days=1),
            }
            for k in keys
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert(Upload), rows[start : start + 5000])
    return user_id, keys


def baseline(
    database: Database, client: object, bucket: str, user_id: uuid.UUID, keys: list[str]
) -> float:
    start = time.perf_counter()
    for at in range(0, len(keys), 1000):
        objects = [{"Key": k} for k in keys[at : at + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})  # type: ignore[attr-defined]
    with database.transaction() as session:
        session.execute(update(Upload).where(Upload.user_id == user_id).values(deleted_at=NOW))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=100_000)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"liveai_bench_retention_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    database = Database(make_engine(args.postgres.rsplit("/", 1)[0] + f"/{name}"))
    try:
        upgrade(database.engine)
        client = s3_client(endpoint)
        for bucket in ("swept", "baseline"):
            client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
        print(f"seeding {args.uploads:,} expired uploads twice ...", flush=True)
        baseline_user, baseline_keys = seed(database, "baseline", args.uploads)
        seed(database, "swept", args.uploads)
        base = baseline(database, client, "baseline", baseline_user, baseline_keys)

        with database.engine.connect() as conn:
            conn.execute(text("ANALYZE uploads"))
            conn.execute(text("ANALYZE tasks"))
            compiled = (
                due_uploads(NOW)
                .limit(1000)
                .compile(database.engine, compile_kwargs={"literal_binds": True})
            )
            plan = [r[0] for r in conn.execute(text(f"EXPLAIN {compiled}"))]
        storage = S3Storage(s3_client(endpoint), "swept", endpoint=endpoint)
        requests: list[int] = []
        storage.client.meta.events.register(
            "before-call.s3.DeleteObjects", lambda **_: requests.append(1)
        )
        start = time.perf_counter()
        report = sweep_uploads(database, storage, now=NOW)
        swept = time.perf_counter() - start
        with database.engine.connect() as conn:
            compiled = (
                due_uploads(NOW)
                .limit(1000)
                .compile(database.engine, compile_kwargs={"literal_binds": True})
            )
            plan = [r[0] for r in conn.execute(text(f"EXPLAIN {compiled}"))]
        print(f"removed: {report.removed:,} uploads, {report.bytes_removed:,} bytes")
        print(f"baseline (raw DeleteObjects + one UPDATE): {base:8.2f} s")
        print(f"liveai retention sweep:                    {swept:8.2f} s")
        print(f"ratio: {swept / base:.2f}x")
        per_thousand = len(requests) / (report.removed / 1000)
        print(f"S3 DeleteObjects requests per 1,000 objects: {per_thousand:.2f} (target <= 1)")
        print("due-item selection plan:")
        print("\n".join(f"  {line}" for line in plan))
        print("uses an index:", any("Index" in line for line in plan))
    finally:
        database.close()
        server.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
