"""Running `liveai` as a real process, and waiting for what it writes to the database."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

# Generous: these waits end as soon as the condition holds; the bound only stops a hang.
WAIT_S = 120.0


class Child:
    """A `liveai` child process whose stderr goes to a file the test can read as it runs."""

    def __init__(self, args: tuple[str, ...], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "liveai_cli", *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
            )

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def said(self, text: str) -> bool:
        return text in self.log.read_text()

    def finish(self) -> tuple[int, str, str]:
        """Wait for the exit: the exit code, stdout and stderr."""
        out, _ = self.process.communicate(timeout=WAIT_S)
        return self.process.returncode, out, self.log.read_text()


@contextmanager
def start(*args: str, env: dict[str, str] | None = None) -> Iterator[Child]:
    """`liveai ARGS` in a child process; killed if the test leaves it running."""
    with tempfile.TemporaryDirectory() as folder:
        child = Child(args, {**os.environ, **(env or {})}, Path(folder) / "stderr")
        try:
            yield child
        finally:
            if child.process.poll() is None:
                child.process.kill()
            child.process.communicate()


def wait_for(condition: Callable[[], Any], what: str, *, every: float = 0.1) -> Any:
    """Poll ``condition`` until it is truthy; its value. Fails after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")


def rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()
