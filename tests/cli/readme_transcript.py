"""Run the README's console examples against the embedded default, as a reader would.

Every ```console block in the README is a transcript: `$ ` lines are run in order in one
shell session's worth of state (a fresh LIVEAI_HOME, the venv's `liveai` on PATH, a
100-column terminal), and the lines after each are its output (stdout and stderr as a
terminal shows them). A block right after `<!-- not run: WHY -->` needs a service the
embedded default has not (Apple, APNs) and is skipped.

    python -m tests.cli.readme_transcript --update    # rewrite the README's outputs

Comparison ignores what differs between runs: ids, times, durations, the temp folder.
Dates are part of what the tour shows (today's label on a published policy, a request
that is or is not overdue), so `liveai` runs on a clock that starts at `TOUR_START`, the
moment the transcripts were recorded, and moves on in real time from there.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOUR_START = datetime(2026, 12, 5, 13, 14, 20, tzinfo=UTC)
# `liveai` as the tour runs it: the real command, its clock moved to the tour's day.
SHIM = """#!{python}
import sys
from datetime import timedelta

import liveai.clock
from liveai_cli.main import main

offset = timedelta(seconds=float({offset!r}))
now = liveai.clock.SystemClock.now
liveai.clock.SystemClock.now = lambda self: now(self) + offset
sys.exit(main())
"""
README = ROOT / "README.md"
SKIP = re.compile(r"<!-- not run: [^>]+ -->\s*$")
HOME = "/tmp/tour"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RULES = [
    # Task and user ids; Live Photo content identifiers are upper case.
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I), "<id>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<hex>"),
    (
        re.compile(
            r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?( [A-Z]{2,5}|[+-]\d{2}:?\d{2}|Z)?"
        ),
        "<time>",
    ),
    (re.compile(r"\(\d+\.\d s\)"), "(<s>)"),
    # Days left until a due date change every day.
    (re.compile(r"(\d{4}-\d{2}-\d{2} +│ )-?\d+( +│ )(yes|no)"), r"\1<n>\2<b>"),
    (re.compile(r"(days_left +)-?\d+"), r"\1<n>"),
    (re.compile(r"(overdue +)(yes|no)"), r"\1<b>"),
    # Table widths follow the values above: compare the cells, not the padding.
    (re.compile(r"━+"), "━"),
    (re.compile(r" {2,}"), " "),
    (re.compile(r"[ \t]+$", re.M), ""),
]


@dataclass
class Block:
    start: int  # index of the line after the opening fence
    end: int  # index of the closing fence
    run: bool
    steps: list[tuple[str, list[str]]] = field(default_factory=list)


def blocks(lines: list[str]) -> list[Block]:
    found: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```console":
            end = lines.index("```", i + 1)
            skipped = i > 0 and bool(SKIP.search(lines[i - 1]))
            block = Block(i + 1, end, not skipped)
            for line in lines[i + 1 : end]:
                if line.startswith("$ "):
                    block.steps.append((line[2:], []))
                elif block.steps:
                    block.steps[-1][1].append(line)
            found.append(block)
            i = end
        i += 1
    return found


def normalise(text: str, home: str) -> str:
    text = _ANSI.sub("", text).replace(home, HOME)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.strip("\n")


class Session:
    """A fresh embedded liveai, and a shell to run the README's commands in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "home").mkdir()
        config = folder / "liveai.toml"
        config.write_text("")
        bin_dir = Path(sys.executable).parent
        keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        self.env.update(
            PATH=os.pathsep.join([str(_shim(folder)), str(bin_dir), os.environ.get("PATH", "")]),
            LIVEAI_HOME=str(folder / "home"),
            LIVEAI_CONFIG=str(config),
            HOME=str(folder),
            TZ="UTC",
            COLUMNS="100",
            NO_COLOR="1",
            TTY_COMPATIBLE="1",
            TTY_INTERACTIVE="0",
            PYTHONUNBUFFERED="1",
        )

    def run(self, command: str) -> str:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        return done.stdout


def _shim(folder: Path) -> Path:
    """A folder holding a `liveai` whose clock reads `TOUR_START` now."""
    offset = (TOUR_START - datetime.now(UTC)).total_seconds()
    shim = folder / "shim"
    shim.mkdir()
    command = shim / "liveai"
    command.write_text(SHIM.format(python=sys.executable, offset=offset))
    command.chmod(0o755)
    return shim


def run_readme(update: bool = False) -> list[tuple[str, str, str]]:
    """Run every transcript; the (command, expected, got) that differ. `update` rewrites."""
    lines = README.read_text().splitlines()
    differences = []
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(Path(tmp))
        home = str(Path(tmp))
        rewritten: dict[int, list[str]] = {}
        for block in blocks(lines):
            if not (block.run and block.steps):
                continue
            new_lines: list[str] = []
            for command, expected in block.steps:
                got = session.run(command)
                new_lines.append(f"$ {command}")
                shown = _ANSI.sub("", got).replace(home, HOME).rstrip("\n")
                new_lines.extend(line.rstrip() for line in shown.splitlines())
                want = normalise("\n".join(expected), home)
                if normalise(got, home) != want:
                    differences.append((command, "\n".join(expected), shown))
            rewritten[block.start] = new_lines
    if update:
        out: list[str] = []
        starts = {b.start: b for b in blocks(lines)}
        i = 0
        while i < len(lines):
            out.append(lines[i])
            opened = starts.get(i + 1)
            if opened is not None and opened.start in rewritten:
                out.extend(rewritten[opened.start])
                i = opened.end
                continue
            i += 1
        README.write_text("\n".join(out) + "\n")
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the README's outputs")
    args = parser.parse_args()
    for command, expected, got in run_readme(update=args.update):
        print(f"$ {command}\n--- README\n{expected}\n--- now\n{got}\n")


if __name__ == "__main__":
    main()
