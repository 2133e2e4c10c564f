"""A PostgreSQL cluster of a test's own, on another port, that the test stops and starts.

The shared server stays untouched. PostgreSQL refuses to run as root, so as root the
cluster runs as the `postgres` user (`runuser`). Where no cluster can be made the test is
skipped with the reason, or fails when LIVEAI_REQUIRE_POSTGRES or CI is set.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

REQUIRED = any(os.environ.get(n, "") not in ("", "0") for n in ("LIVEAI_REQUIRE_POSTGRES", "CI"))


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    return found[-1] or None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    def __init__(self, folder: str, port: int, as_user: list[str]) -> None:
        self.folder, self.port, self.as_user = folder, port, as_user
        self.data = os.path.join(folder, "data")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        pg_ctl = _bin("pg_ctl")
        assert pg_ctl is not None
        subprocess.run(
            [*self.as_user, pg_ctl, "-D", self.data, "-w", *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", os.path.join(self.folder, "log"), "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")


def _skip(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"no throwaway PostgreSQL cluster: {reason}")
    pytest.skip(f"no throwaway PostgreSQL cluster: {reason}")


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    initdb = _bin("initdb")
    if initdb is None or _bin("pg_ctl") is None:
        _skip("initdb and pg_ctl are not installed")
    as_user: list[str] = []
    folder = tempfile.mkdtemp(prefix="liveai-pg-")
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            _skip("running as root without runuser and a postgres user")
        assert owner is not None and runuser is not None
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = [runuser, "-u", "postgres", "--"]
    cluster = Cluster(folder, _free_port(), as_user)
    made = subprocess.run(
        [*as_user, initdb, "-D", cluster.data, "-U", "postgres", "-A", "trust", "--no-sync"],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        _skip(f"initdb failed: {made.stderr.strip().splitlines()[-1:]}")
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
