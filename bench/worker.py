"""2,000 queued generations on 4 worker processes against a loopback provider with a
fixed 2 s latency, on PostgreSQL: wall time against the floor, worker CPU per task, and
the invariants.

The floor is what no run can beat: every generation waits the provider's latency, and at
most (processes x threads) wait at once, so floor = tasks x latency / total concurrency.
The workers are `liveai.generation.work` as `liveai worker` runs it, started, connected
and warmed up before the clock starts (bench/generation.py does the wiring). Invariants
checked after each run: every task started once at the provider, the ledger reconciles,
no task left leased, every task succeeded. Targets: wall <= 1.5 x floor, CPU per task
<= 8 ms.

    python bench/worker.py [--tasks 2000] [--latency 2.0] [--workers 4] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generation import (
    CONNECTIONS,
    Plan,
    bench_settings,
    drop_postgres,
    fake_provider,
    open_database,
    queue,
    run_workers,
    scratch_parent,
    scratch_postgres,
)
from liveai import ledger
from liveai.db import make_engine, upgrade
from liveai.models import Task
from liveai.storage import LocalStorage


def run(url: str, folder: Path, args: argparse.Namespace) -> bool:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    database = open_database(url, 2)
    storage = LocalStorage(folder / "storage")
    with fake_provider(args.latency) as base, httpx.Client(timeout=30) as client:
        user_id = queue(database, storage, bench_settings(folder), base, client, args.tasks)
        plan = Plan(url, folder, base, args.concurrency, max(2, CONNECTIONS // args.workers))
        started, results = run_workers(plan, args.workers)
        wall = max(result.ended for result in results) - started
        starts = client.get(f"{base}/v1/stats").json()["started"]
    with database.transaction() as session:
        reconciled = ledger.reconcile(session).ok
        leased = session.scalar(
            select(func.count()).select_from(Task).where(Task.lease_owner.is_not(None))
        )
        balance = ledger.balance(session, user_id)
    database.close()
    finished = sum(len(ids) for r in results for state, ids in r.finished.items())
    succeeded = sum(len(r.finished.get("succeeded", [])) for r in results)
    errors = sum(len(r.errors) for r in results)
    cpu = sum(r.cpu_s for r in results)
    total = args.workers * args.concurrency
    floor = args.tasks * args.latency / total
    per_task_ms = 1000 * cpu / max(finished, 1)
    once = len(starts) == args.tasks and set(starts.values()) == {1}
    print(f"{args.tasks} generations, latency {args.latency:.1f} s, {url.split(':')[0]}")
    print(f"{args.workers} worker processes x {args.concurrency} threads = {total} at once")
    print(f"wall time: {wall:.2f} s   floor: {floor:.2f} s   ratio: {wall / floor:.2f} (<= 1.5)")
    print(f"worker CPU: {cpu:.2f} s = {per_task_ms:.1f} ms per task (<= 8 ms)")
    print(
        f"invariants: each task once at the provider {once}; ledger reconciles {reconciled}; "
        f"left leased {leased}; succeeded {succeeded}/{args.tasks}; errors {errors}; "
        f"charged {10 * args.tasks + 10 - balance.available}"
    )
    return once and reconciled and leased == 0 and succeeded == args.tasks and errors == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64, help="Threads per worker.")
    args = parser.parse_args()
    scratch = scratch_postgres()
    if scratch is None:
        sys.exit("bench/worker.py needs PostgreSQL at $LIVEAI_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory(prefix="liveai-bench-", dir=scratch_parent()) as folder:
        try:
            ok = run(scratch[1], Path(folder), args)
        finally:
            drop_postgres(scratch[0])
    if not ok:
        sys.exit("an invariant failed")


if __name__ == "__main__":
    main()
