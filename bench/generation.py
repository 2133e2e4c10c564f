"""200 concurrent generations against a loopback provider with a fixed 2 s latency.

Every task goes through the whole lifecycle (hold, submit, poll, download, poster, store,
post the hold) on PostgreSQL when one answers at $LIVEAI_TEST_POSTGRES_URL (a scratch
database is created and dropped), else on SQLite. The floor is the provider's latency:
no run can beat it. Prints the wall time, the floor, the ratio (target <= 1.5) and
whether the ledger reconciles.

    python bench/generation.py [--tasks 200] [--latency 2.0] [--sqlite]
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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from liveai import ledger
from liveai.db import Database, make_engine, upgrade
from liveai.generation import Lifecycle, NewTask, create_task
from liveai.generation.lifecycle import default_runner_id
from liveai.settings import load_settings
from liveai.storage import LocalStorage
from liveai.users import create_user
from tests.fakes.video_provider import FakeVideoProvider, serve_in_process
from tests.generation_helpers import photo

POSTGRES = os.environ.get(
    "LIVEAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


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


def open_database(url: str, threads: int) -> Database:
    upgrade_engine = make_engine(url)
    upgrade(upgrade_engine)
    upgrade_engine.dispose()
    if url.startswith("sqlite"):
        return Database(make_engine(url))
    return Database(
        create_engine(url, pool_size=min(threads, 40), max_overflow=0, pool_timeout=600)
    )


def run(url: str, folder: Path, tasks: int, latency: float) -> None:
    settings = load_settings(
        home=folder,
        provider_order="fake",
        generation_poll_interval_s=0.5,
        generation_poll_backoff=1.0,
        render_max_side=128,
    )
    database = open_database(url, tasks)
    storage = LocalStorage(folder / "storage")
    limits = httpx.Limits(max_connections=tasks + 16, max_keepalive_connections=tasks + 16)
    with fake_provider(latency) as base, httpx.Client(timeout=30, limits=limits) as client:
        providers = {"fake": FakeVideoProvider("fake", base, client)}
        stamps: dict[str, list[float]] = {}

        def progress(task_id: uuid.UUID, stage: str) -> None:
            stamps.setdefault(stage, []).append(time.perf_counter())

        lifecycle = Lifecycle(database, storage, providers, settings, client, progress=progress)
        user_id, ids = queue(lifecycle, tasks)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=tasks) as pool:
            done = list(
                pool.map(lambda i: replace(lifecycle, runner_id=default_runner_id()).run(i), ids)
            )
        wall = time.perf_counter() - started

        starts = client.get(f"{base}/v1/stats").json()["started"]
    states = {task.state.value for task in done}
    with database.transaction() as session:
        report = ledger.reconcile(session)
        balance = ledger.balance(session, user_id)
    database.close()
    print(f"{tasks} generations, provider latency {latency:.1f} s, on {url.split(':')[0]}")
    print(f"wall time: {wall:.2f} s   floor: {latency:.2f} s   ratio: {wall / latency:.2f}")
    print("(target: ratio <= 1.5)")
    print(f"states: {sorted(states)}; starts at the provider: {sum(starts.values())}")
    for stage in ("submitted", "downloading", "succeeded"):
        times = sorted(t - started for t in stamps.get(stage, []))
        if times:
            print(
                f"  {stage:<12} first {times[0]:6.2f} s  median {statistics.median(times):6.2f} s"
                f"  last {times[-1]:6.2f} s"
            )
    print(f"ledger reconciles: {report.ok}; charged {10 * tasks - balance.available + 10}")


@contextmanager
def fake_provider(latency: float) -> Iterator[str]:
    """The fake provider in its own process: a real provider does not share our GIL."""
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


def queue(lifecycle: Lifecycle, tasks: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    image = photo(320, 320)
    with lifecycle.database.transaction() as session:
        user = create_user(session, issuer="https://bench", subject="bench")
        ledger.grant(session, user.id, 10 * tasks + 10, key="bench", reason="bench")
        ids = [
            create_task(
                session,
                lifecycle.storage,
                lifecycle.providers,
                lifecycle.settings,
                user.id,
                NewTask(image),
                clock=lifecycle.clock,
            ).id
            for _ in range(tasks)
        ]
        return user.id, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--sqlite", action="store_true", help="Skip PostgreSQL.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = None if args.sqlite else scratch_postgres()
        url = scratch[1] if scratch else f"sqlite:///{folder}/bench.db"
        try:
            run(url, Path(folder), args.tasks, args.latency)
        finally:
            if scratch:
                drop_postgres(scratch[0])


if __name__ == "__main__":
    main()
