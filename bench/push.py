"""APNs pushes per second through liveai's client next to bare httpx HTTP/2, in one run.

Both send the same 1,000 requests (same headers, JWT and payload) to the loopback fake
APNs server (HTTP/2 over TLS, in its own process) over one connection, with the same
number in flight.
Prints the best of a few rounds for each and their ratio (target: at least 0.8).

    python bench/push.py [--pushes 1000] [--parallel 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
import time
from multiprocessing import Event, Process, Queue
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liveai.models import ApnsEnvironment
from liveai.push import (
    ApnsClient,
    Notification,
    ProviderToken,
    Target,
    load_signing_key,
    make_http_client,
)
from tests.fakes.apns import running

KEY_ID, TEAM_ID, TOPIC = "ABC123DEFG", "TEAM123456", "ai.live.app"


async def ours(url: str, ca: Path, signer: ProviderToken, n: int, parallel: int) -> float:
    note = Notification(title="Your video is ready", body="Tap to watch it.", collapse_id="t")
    pushes = [(Target(f"{i:064x}", ApnsEnvironment.SANDBOX), note) for i in range(n)]
    async with make_http_client(ca_file=ca, timeout=30) as http:
        client = ApnsClient(http, signer, topic=TOPIC, base_url=url)
        await client.send(*pushes[0])  # connect outside the timing
        start = time.perf_counter()
        results = await client.send_many(pushes, parallel=parallel)
        elapsed = time.perf_counter() - start
    assert all(r.delivered for r in results), "a push was not delivered"
    return n / elapsed


async def bare(url: str, ca: Path, signer: ProviderToken, n: int, parallel: int) -> float:
    note = Notification(title="Your video is ready", body="Tap to watch it.", collapse_id="t")
    body = note.payload()
    urls = [f"{url}/3/device/{i:064x}" for i in range(n)]
    gate = asyncio.Semaphore(parallel)
    context = ssl.create_default_context(cafile=str(ca))
    async with httpx.AsyncClient(http1=False, http2=True, verify=context, timeout=30) as http:
        headers = ApnsClient(http, signer, topic=TOPIC).headers(signer.current(), note)

        async def post(url: str) -> int:
            async with gate:
                return (await http.post(url, content=body, headers=headers)).status_code

        await post(urls[0])
        start = time.perf_counter()
        statuses = await asyncio.gather(*(post(url) for url in urls))
        elapsed = time.perf_counter() - start
    assert set(statuses) == {200}, "a bare push was not delivered"
    return n / elapsed


def serve(folder: str, ports: Queue[int], stop: Event) -> None:
    """The fake APNs in its own process, so it does not share the client's GIL."""
    with running(Path(folder), key_id=KEY_ID, team_id=TEAM_ID, topic=TOPIC) as (server, _, _):
        ports.put(server.port)
        stop.wait()


def measure(url: str, folder: Path, args: argparse.Namespace) -> tuple[float, float]:
    signer = ProviderToken(load_signing_key(folder / "AuthKey.p8"), key_id=KEY_ID, team_id=TEAM_ID)
    ca = folder / "tls" / "ca.pem"
    baseline = ours_rate = 0.0
    for _ in range(args.rounds):  # interleaved, so drift hits both alike
        baseline = max(baseline, asyncio.run(bare(url, ca, signer, args.pushes, args.parallel)))
        ours_rate = max(ours_rate, asyncio.run(ours(url, ca, signer, args.pushes, args.parallel)))
    return baseline, ours_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ports: Queue[int] = Queue()
        stop = Event()
        process = Process(target=serve, args=(folder, ports, stop))
        process.start()
        try:
            url = f"https://127.0.0.1:{ports.get(timeout=60)}"
            baseline, ours_rate = measure(url, Path(folder), args)
        finally:
            stop.set()
            process.join()
    print(f"bare httpx HTTP/2 : {baseline:8.0f} pushes/s")
    print(f"liveai ApnsClient : {ours_rate:8.0f} pushes/s")
    print(f"ratio             : {ours_rate / baseline:8.2f}  (target >= 0.8)")
    print(f"{args.pushes} pushes per run over one connection each, {args.parallel} in flight")


if __name__ == "__main__":
    main()
