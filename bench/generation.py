"""200 concurrent generations against a loopback provider with a fixed 2 s latency.

Every task goes through the whole lifecycle (hold, submit, poll, download, poster, store,
post the hold) on PostgreSQL when one answers at $LIVEAI_TEST_POSTGRES_URL (a scratch
database is created and dropped), else on SQLite. The tasks are queued first, then run
as production runs them: `--workers` worker processes (one per core by default), each
`liveai.generation.work` with `--concurrency` threads claiming tasks with SKIP LOCKED,
started, connected and with PyAV loaded before the clock starts, as long-running workers
are. The floor is the provider's latency: no run can beat it. Prints the wall time, the
floor and whether the ledger reconciles for each of `--runs` runs (each on a fresh
database), then the median wall time and its ratio to the floor (target <= 1.5).

    python bench/generation.py [--tasks 200] [--latency 2.0] [--workers 2] [--runs 3] [--sqlite]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from liveai import ledger
from liveai.clock import SYSTEM_CLOCK
from liveai.db import Database, make_engine, upgrade
from liveai.generation import Lifecycle, NewTask, create_task, work
from liveai.providers.render import poster_jpeg
from liveai.settings import Settings, default_home, load_settings
from liveai.storage import LocalStorage
from liveai.users import create_user
from tests.fakes.video_provider import FakeVideoProvider, serve_in_process, tiny_mp4
from tests.generation.helpers import give_generation_consents, photo

POSTGRES = os.environ.get(
    "LIVEAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CONNECTIONS = 40  # PostgreSQL connections for all workers together


def scratch_postgres() -> tuple[str, str] | None:
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"liveai_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        return None
    finally:
        admin.dispose()
    return name, admin.url.set(database=name).render_as_string(hide_password=False)


def drop_postgres(name: str) -> None:
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def open_database(url: str, connections: int) -> Database:
    if url.startswith("sqlite"):
        return Database(make_engine(url))
    return Database(create_engine(url, pool_size=connections, max_overflow=0, pool_timeout=600))


def bench_settings(folder: Path) -> Settings:
    return load_settings(
        home=folder,
        provider_order="fake",
        generation_poll_interval_s=0.5,
        generation_poll_backoff=1.0,
        render_max_side=128,
    )


@dataclass
class Plan:
    """What each worker process needs to build its own lifecycle."""

    url: str
    folder: Path
    provider_url: str
    concurrency: int
    connections: int


@dataclass
class WorkerResult:
    finished: dict[str, list[str]]
    errors: list[str]
    stamps: list[tuple[str, float]]
    ended: float
    cpu_s: float


def worker(plan: Plan, ready: Any, go: Any, results: Any) -> None:
    """One worker process: connect, wait for the start, run tasks until none is left."""
    database = open_database(plan.url, plan.connections)
    stamps: list[tuple[str, float]] = []
    limits = httpx.Limits(max_connections=plan.concurrency + 16)
    with httpx.Client(timeout=30, limits=limits) as client:
        lifecycle = Lifecycle(
            database,
            LocalStorage(plan.folder / "storage"),
            {"fake": FakeVideoProvider("fake", plan.provider_url, client)},
            bench_settings(plan.folder),
            client,
            progress=lambda task_id, stage: stamps.append((stage, time.perf_counter())),
        )
        warm_up(database, plan.connections)
        poster_jpeg(tiny_mp4())  # PyAV is loaded long before in a long-running worker
        ready.put(os.getpid())
        go.wait()
        cpu = time.process_time()
        report = work(lifecycle, concurrency=plan.concurrency, once=True)
        ended = time.perf_counter()
        cpu = time.process_time() - cpu
    database.close()
    # Plain values: the parent cannot import this module under the child's name.
    results.put((report.finished, report.errors, stamps, ended, cpu))


def warm_up(database: Database, connections: int) -> None:
    """Open the pool's connections before the clock starts, as a long-running worker has
    (SQLite opens a file, nothing to warm)."""
    if database.dialect == "sqlite":
        return
    with ExitStack() as stack:
        for _ in range(connections):
            stack.enter_context(database.engine.connect())


def run(
    url: str, folder: Path, tasks: int, latency: float, workers: int, concurrency: int
) -> float:
    """One run on a fresh database: prints what happened; the wall time."""
    upgrade_engine = make_engine(url)
    upgrade(upgrade_engine)
    upgrade_engine.dispose()
    database = open_database(url, 2)
    storage = LocalStorage(folder / "storage")
    with fake_provider(latency) as base, httpx.Client(timeout=30) as client:
        user_id = queue(database, storage, bench_settings(folder), base, client, tasks)
        plan = Plan(url, folder, base, concurrency, max(1, CONNECTIONS // workers))
        started, results = run_workers(plan, workers)
        wall = max(result.ended for result in results) - started
        starts = client.get(f"{base}/v1/stats").json()["started"]
    with database.transaction() as session:
        report = ledger.reconcile(session)
        balance = ledger.balance(session, user_id)
    database.close()
    states = {state for result in results for state in result.finished}
    errors = [error for result in results for error in result.errors]
    print(f"{tasks} generations, provider latency {latency:.1f} s, on {url.split(':')[0]}")
    print(f"{workers} worker processes x {concurrency} threads")
    print(f"wall time: {wall:.2f} s   floor: {latency:.2f} s   ratio: {wall / latency:.2f}")
    print(f"states: {sorted(states)}; starts at the provider: {sum(starts.values())}")
    print(f"errors: {len(errors)}; worker CPU: {[round(r.cpu_s, 2) for r in results]} s")
    stamps = [(stage, at) for result in results for stage, at in result.stamps]
    for stage in ("submitted", "downloading", "succeeded"):
        times = sorted(at - started for name, at in stamps if name == stage)
        if times:
            print(
                f"  {stage:<12} first {times[0]:6.2f} s  median {statistics.median(times):6.2f} s"
                f"  last {times[-1]:6.2f} s"
            )
    print(f"ledger reconciles: {report.ok}; charged {10 * tasks - balance.available + 10}")
    return wall


def run_workers(plan: Plan, workers: int) -> tuple[float, list[WorkerResult]]:
    """Start the workers, wait until each is connected, start the clock and let them go."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    processes = [
        ctx.Process(target=worker, args=(plan, ready, go, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            collect(ready, processes)
        started = time.perf_counter()
        go.set()
        done = [WorkerResult(*collect(results, processes)) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    return started, done


def collect(answers: Any, processes: list[Any]) -> Any:
    """The next answer from a worker; fails when a worker died instead of answering."""
    while True:
        try:
            return answers.get(timeout=1)
        except Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a worker process died (exit codes {dead})") from None


@contextmanager
def fake_provider(latency: float) -> Iterator[str]:
    """The fake provider in its own process: a real provider does not share our CPU."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    process = ctx.Process(target=serve_in_process, args=(send, stop, {"latency_s": latency}))
    process.start()
    try:
        yield receive.recv()
    finally:
        stop.set()
        process.join()


def queue(
    database: Database,
    storage: LocalStorage,
    settings: Settings,
    base: str,
    client: httpx.Client,
    tasks: int,
) -> uuid.UUID:
    image = photo(320, 320)
    providers = {"fake": FakeVideoProvider("fake", base, client)}
    with database.transaction() as session:
        user = create_user(session, issuer="https://bench", subject="bench")
        ledger.grant(session, user.id, 10 * tasks + 10, key="bench", reason="bench")
        give_generation_consents(session, user.id, SYSTEM_CLOCK)
        for _ in range(tasks):
            create_task(
                session, storage, providers, settings, user.id, NewTask(image), clock=SYSTEM_CLOCK
            )
        return user.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--concurrency", type=int, help="Threads per worker (default: every task at once)."
    )
    parser.add_argument("--sqlite", action="store_true", help="Skip PostgreSQL.")
    parser.add_argument("--runs", type=int, default=3, help="Runs; the median is the figure.")
    args = parser.parse_args()
    concurrency = args.concurrency or -(-args.tasks // args.workers)
    walls = []
    for number in range(1, args.runs + 1):
        print(f"-- run {number} of {args.runs}")
        walls.append(one_run(args, concurrency))
    wall = statistics.median(walls)
    print(f"median wall time of {args.runs}: {wall:.2f} s   floor: {args.latency:.2f} s")
    print(f"ratio: {wall / args.latency:.2f} (target <= 1.5)")


def scratch_parent() -> Path:
    """Where the run's storage goes: beside the default data folder, on the disk a
    deployment keeps its data on (file creation in this machine's /tmp costs ~30x)."""
    parent = default_home().parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def one_run(args: argparse.Namespace, concurrency: int) -> float:
    with tempfile.TemporaryDirectory(prefix="liveai-bench-", dir=scratch_parent()) as folder:
        scratch = None if args.sqlite else scratch_postgres()
        url = scratch[1] if scratch else f"sqlite:///{folder}/bench.db"
        try:
            return run(url, Path(folder), args.tasks, args.latency, args.workers, concurrency)
        finally:
            if scratch:
                drop_postgres(scratch[0])


if __name__ == "__main__":
    main()
