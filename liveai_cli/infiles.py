"""Reading what a command is given: a file, or standard input for `-`."""

from __future__ import annotations

import sys
from pathlib import Path

STDIN = "-"


def value_or_stdin(value: str) -> str:
    """``value``, or standard input for `-` (a secret kept off the command line), stripped."""
    return (sys.stdin.read() if value == STDIN else value).strip()


def read_text(source: str | Path) -> str:
    """A UTF-8 file's text, or standard input's for `-`; InvalidInput (one line) otherwise."""
    from liveai.errors import InvalidInput

    if str(source) == STDIN:
        return sys.stdin.read()
    try:
        return read_bytes(Path(source)).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"cannot read {source}: not UTF-8 text", hint="give a UTF-8 text file"
        ) from None


def read_bytes(path: Path) -> bytes:
    """A file's bytes; InvalidInput (one line) when it cannot be read."""
    from liveai.errors import InvalidInput

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
