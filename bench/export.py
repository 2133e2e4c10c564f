"""Export of a heavy user: 100,000 ledger transfers and 10,000 tasks with their videos.

Prints the export's wall time and peak memory (VmHWM of the process that runs it)
next to baselines measured in the same run: the raw rows copied out with PostgreSQL's
COPY plus the media files read back (the I/O floor of the same bundle), and the peak
memory of a bare `python -c`. Targets: under 10 s and under 200 MB.

    python bench/export.py [--transfers 100000] [--tasks 10000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from heavy_user import insert_tasks, insert_transfers  # bench/ is the script's folder
from sqlalchemy import create_engine, text

from liveai.db import Database, make_engine, upgrade
from liveai.storage import LocalStorage, result_key
from liveai.users import create_user

PEAK = """
def peak_mb():
    # VmHWM belongs to this process image alone (ru_maxrss would include the fork it came from)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""
RUN_EXPORT = (
    PEAK
    + """
import sys, uuid
from pathlib import Path
from liveai.db import Database, make_engine
from liveai.privacy.export import export_user
from liveai.settings import load_settings
from liveai.storage import LocalStorage
url, root, user, out = sys.argv[1:5]
db = Database(make_engine(url))
with db.transaction() as session:
    export_user(session, LocalStorage(Path(root)), uuid.UUID(user), Path(out),
                settings=load_settings())
db.close()
print(peak_mb())
"""
)
BASELINE = PEAK + "print(peak_mb())"


def seed(database: Database, storage: LocalStorage, transfers: int, tasks: int) -> uuid.UUID:
    with database.transaction() as session:
        user = create_user(session, issuer="https://bench/oidc", subject="heavy")
        insert_transfers(session, user.id, transfers, key=lambda n: f"bench:{n}")
        for n in range(tasks):
            storage.put(result_key(user.id, f"{n}.mp4"), b"v" * 2048, content_type="video/mp4")
        insert_tasks(
            session,
            user.id,
            tasks,
            upload_bytes=1,
            posters=False,
            uploads_deleted=True,
        )
        return user.id


def child_peak(argv: list[str]) -> tuple[float, float]:
    """Wall seconds of a child process and the peak memory (MB) it reports."""
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return elapsed, float(done.stdout.strip().splitlines()[-1])


def copy_baseline(url: str, user_id: uuid.UUID, storage: LocalStorage) -> float:
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(url.replace("+psycopg", "")) as conn, tempfile.TemporaryFile() as sink:
        for table in ("ledger_transfers", "tasks", "data_transfers", "uploads"):
            query = (
                f"COPY (SELECT row_to_json(t) FROM {table} t WHERE user_id = '{user_id}') TO STDOUT"
            )
            with conn.cursor().copy(query) as copy:
                for chunk in copy:
                    sink.write(chunk)
        for item in storage.list(f"users/{user_id}/"):
            sink.write(storage.get(item.key))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"liveai_bench_export_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    database = Database(make_engine(url))
    try:
        upgrade(database.engine)
        with tempfile.TemporaryDirectory() as folder:
            storage = LocalStorage(Path(folder) / "storage")
            print(f"seeding {args.transfers:,} transfers and {args.tasks:,} tasks ...", flush=True)
            user_id = seed(database, storage, args.transfers, args.tasks)
            base_time = copy_baseline(url, user_id, storage)
            _, base_rss = child_peak([sys.executable, "-c", BASELINE])
            out = Path(folder) / "export.zip"
            export_time, export_rss = child_peak(
                [sys.executable, "-c", RUN_EXPORT, url, str(storage.root), str(user_id), str(out)]
            )
            print(f"bundle: {out.stat().st_size / 1e6:.1f} MB")
            print(f"baseline (COPY of the rows + reading the media): {base_time:7.2f} s")
            print(f"liveai privacy export: {export_time:7.2f} s (target < 10 s)")
            print(f"time ratio: {export_time / base_time:.2f}x")
            print(f"peak memory of a bare `python -c` (baseline): {base_rss:7.1f} MB")
            print(
                f"peak memory of the export:                {export_rss:7.1f} MB (target < 200 MB)"
            )
    finally:
        database.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
