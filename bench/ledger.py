"""Credits-ledger throughput on PostgreSQL next to pgbench running the raw SQL equivalent.

Worker processes run generations (a hold, then its post: two transfers, two transactions)
and plain consumes through `liveai.ledger.Ledger`, each transfer in its own transaction. In the
same run, `pgbench` runs the raw transaction the ledger is built around (a guarded balance
UPDATE plus a transfer INSERT) with as many clients. Prints both rates, the ratio (target
at least 0.5), and the invariant check (reconcile must be clean).

    python bench/ledger.py [--workers 8] [--seconds 10] [--users 1000]
    LIVEAI_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import resource
import subprocess
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ADMIN_URL = os.environ.get(
    "LIVEAI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
START_CREDITS = 10**9

PGBENCH_SCRIPT = """\
\\set aid random(1, {users})
BEGIN;
UPDATE bench_accounts SET balance = balance - 1 WHERE id = :aid AND balance >= 1;
INSERT INTO bench_transfers (key, account_id, amount, created_at)
    VALUES (gen_random_uuid()::text, :aid, 1, now());
END;
"""


def create_database(admin: URL, name: str) -> str:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_database(admin: URL, name: str) -> None:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def prepare(url: str, users: int) -> list[uuid.UUID]:
    from liveai import ledger
    from liveai.db import Database, make_engine, upgrade
    from liveai.users import create_user

    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine)
    ids = []
    with db.transaction() as session:
        for n in range(users):
            user = create_user(session, issuer="https://bench", subject=f"bench-{n}")
            ledger.grant(session, user.id, START_CREDITS, key=f"seed-{n}", reason="bench")
            ids.append(user.id)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_accounts (id int PRIMARY KEY, balance bigint NOT NULL);"
                "CREATE TABLE bench_transfers (id bigserial PRIMARY KEY, key text UNIQUE NOT NULL,"
                " account_id int NOT NULL REFERENCES bench_accounts(id), amount bigint NOT NULL,"
                " created_at timestamptz NOT NULL)"
            )
        )
        conn.execute(
            text("INSERT INTO bench_accounts SELECT g, :start FROM generate_series(1, :n) g"),
            {"start": START_CREDITS, "n": users},
        )
    db.close()
    return ids


def worker(
    url: str, users: list[uuid.UUID], seconds: float, seed: int, start: Any, queue: Any
) -> None:
    from liveai import ledger
    from liveai.db import Database, make_engine

    database = Database(make_engine(url))
    books = ledger.Ledger(database)
    rnd = random.Random(seed)
    transfers = 0
    books.consume(users[0], 1, key=uuid.uuid4().hex, reference="warm-up", reason="consume")
    queue.put("ready")
    start.wait()  # every worker imported and connected: measure only the transfers
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        user = rnd.choice(users)
        key = uuid.uuid4().hex
        if rnd.random() < 0.5:  # one generation: a hold, then its post
            books.hold(
                user, 5, key=key, reference=key, timeout=timedelta(minutes=10),
                reason="generation",
            )  # fmt: skip
            books.post_hold(key, key=f"{key}:post", amount=rnd.randint(1, 5))
            transfers += 2
        else:
            books.consume(user, 1, key=key, reference=key, reason="consume")
            transfers += 1
    cpu = time.process_time() - cpu
    database.close()
    queue.put((transfers, cpu))


def run_ledger(
    url: str, users: list[uuid.UUID], workers: int, seconds: float
) -> tuple[float, float]:
    """Transfers per second, and the workers' own CPU time per transfer (seconds)."""
    ctx = multiprocessing.get_context("spawn")
    queue, start = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=worker, args=(url, users, seconds, seed, start, queue))
        for seed in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        queue.get()  # each worker says it is ready
    start.set()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    total = sum(transfers for transfers, _ in results)
    return total / seconds, sum(cpu for _, cpu in results) / total


def run_pgbench(url: str, users: int, clients: int, seconds: float) -> tuple[float, float]:
    """Transactions per second, and pgbench's own CPU time per transaction (seconds)."""
    parsed = make_url(url)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "transfer.sql"
        script.write_text(PGBENCH_SCRIPT.format(users=users))
        argv = [
            "pgbench", "-n", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
            "-T", str(int(seconds)), "-f", str(script), "-h", parsed.host or "127.0.0.1",
            "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres",
            parsed.database or "postgres",
        ]  # fmt: skip
        env = {**os.environ, "PGPASSWORD": parsed.password or ""}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tps = re.search(r"tps = ([\d.]+)", result.stdout)
    done = re.search(r"transactions actually processed: (\d+)", result.stdout)
    if tps is None or done is None:
        raise SystemExit(f"could not read pgbench's figure:\n{result.stdout}\n{result.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return float(tps.group(1)), cpu / int(done.group(1))


def check(url: str) -> tuple[bool, int]:
    from liveai import ledger
    from liveai.db import Database, make_engine

    db = Database(make_engine(url))
    with db.transaction() as session:
        report = ledger.reconcile(session)
    db.close()
    return report.ok, report.transfers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()
    admin = make_url(ADMIN_URL)
    name = f"liveai_bench_ledger_{os.getpid()}"
    url = create_database(admin, name)
    try:
        users = prepare(url, args.users)
        baseline, baseline_cpu = run_pgbench(url, args.users, args.workers, args.seconds)
        rate, rate_cpu = run_ledger(url, users, args.workers, args.seconds)
        ok, transfers = check(url)
    finally:
        drop_database(admin, name)
    print(f"pgbench guarded UPDATE + INSERT (baseline): {baseline:8.0f} transactions/s")
    print(f"liveai.ledger hold+post and consume:        {rate:8.0f} transfers/s")
    print(f"ratio: {rate / baseline:.2f} (target >= 0.5), {args.workers} clients each")
    print(
        f"client CPU: pgbench {baseline_cpu * 1e6:.0f} us per transaction, "
        f"liveai workers {rate_cpu * 1e6:.0f} us per transfer"
    )
    print(f"invariants after {transfers} transfers: {'clean' if ok else 'VIOLATED'}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
