"""How long `liveai --help` takes next to the floor Typer itself sets.

Prints the median wall time of `liveai --help` and of a one-command Typer app's `--help`,
measured in the same run, and their ratio (target: at most 1.25).

    python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
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


def median_seconds(argv: list[str], runs: int) -> float:
    subprocess.run(argv, capture_output=True, check=True)  # warm the file cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        floor_script = Path(folder) / "floor.py"
        floor_script.write_text(FLOOR_APP)
        floor = median_seconds([sys.executable, str(floor_script), "--help"], args.runs)
    liveai = median_seconds([sys.executable, "-m", "liveai_cli", "--help"], args.runs)
    print(f"typer one-command --help (baseline): {floor * 1000:7.1f} ms")
    print(f"liveai --help:                       {liveai * 1000:7.1f} ms")
    print(f"ratio: {liveai / floor:.2f}x (target <= 1.25x)")


if __name__ == "__main__":
    main()
