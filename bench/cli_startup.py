"""How long `liveai --help` takes next to the floor Typer itself sets.

Prints the median wall time of `liveai --help` and of a one-command Typer app's `--help`,
measured in the same run, and their ratio (target: at most 1.25). The two are timed in
turn, so both see the same load on the machine. The first, untimed run of each writes
its bytecode cache, as `pip install` does for an installed package, even where
PYTHONDONTWRITEBYTECODE is set.

    python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR_APP = '''
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    print(name)


@app.callback()
def root() -> None:
    """A one-command app."""


app()
'''


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - start


def medians(commands: list[list[str]], runs: int) -> list[float]:
    """Median wall time of each command, timed round-robin after one warm-up run each."""
    warm_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for argv in commands:
        subprocess.run(argv, capture_output=True, check=True, env=warm_env)
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for argv, times in zip(commands, samples, strict=True):
            times.append(seconds(argv))
    return [statistics.median(times) for times in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        floor_script = Path(folder) / "floor.py"
        floor_script.write_text(FLOOR_APP)
        floor_app = [sys.executable, str(floor_script), "--help"]
        liveai_app = [sys.executable, "-m", "liveai_cli", "--help"]
        floor, liveai = medians([floor_app, liveai_app], args.runs)
    print(f"typer one-command --help (baseline): {floor * 1000:7.1f} ms")
    print(f"liveai --help:                       {liveai * 1000:7.1f} ms")
    print(f"ratio: {liveai / floor:.2f}x (target <= 1.25x)")


if __name__ == "__main__":
    main()
