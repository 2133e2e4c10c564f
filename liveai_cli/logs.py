"""Where the library's log lines go: stderr, as text (Rich on a terminal) or JSON lines.

`-v` shows INFO (a worker shows it by default), `-vv` DEBUG, `-q` only errors. Both
formats carry the task, provider and user ids bound where the line was logged
(`liveai.logcontext`); JSON lines (for journald and log shippers) have timestamp, level,
logger and message beside them. Imported only when a command runs.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from liveai.logcontext import FIELDS, current

FORMATS = ("text", "json")
_MARK = "liveai_cli_handler"
_verbosity = 0


def setup_logging(verbosity: int = 0, log_format: str = "text") -> None:
    """Install the one handler on the `liveai` logger; ``verbosity`` -1 (quiet) to 2."""
    global _verbosity
    _verbosity = verbosity
    root = logging.getLogger("liveai")
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    handler: logging.Handler = JsonHandler() if log_format == "json" else TextHandler()
    setattr(handler, _MARK, True)
    root.addHandler(handler)  # the root logger has none: each line is written once
    root.setLevel(level_for(verbosity))


def service_mode() -> None:
    """A long-running command (the worker) logs INFO unless told otherwise."""
    if _verbosity == 0:
        logging.getLogger("liveai").setLevel(logging.INFO)


def quiet() -> bool:
    """Whether `-q` was given: progress displays stay off."""
    return _verbosity < 0


def level_for(verbosity: int) -> int:
    if verbosity < 0:
        return logging.ERROR
    return (logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG


def ids_of(record: logging.LogRecord) -> dict[str, str]:
    """The ids a line is about: bound in its context, or passed as ``extra``."""
    ids = dict(current())
    for name in FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            ids[name] = str(value)
    return ids


class _WithIds(logging.Formatter):
    """The line with its ids; an exception as one line unless `-vv` asks for tracebacks."""

    def formatException(self, ei: Any) -> str:
        if _verbosity > 1:
            return super().formatException(ei)
        return f"{ei[0].__name__}: {ei[1]}"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = {name: value for name, value in ids_of(record).items() if value not in line}
        return f"{line} [{' '.join(f'{k}={v}' for k, v in ids.items())}]" if ids else line


class TextHandler(logging.Handler):
    """Rich's handler on a terminal, plain timestamped lines otherwise (chosen on the first
    line, so a command that logs nothing never loads Rich)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.inner is None:
            self.inner = _text_inner()
        self.inner.handle(record)


def _text_inner() -> logging.Handler:
    from liveai_cli import output

    console = output.stderr()
    inner: logging.Handler
    if console.is_terminal:
        from rich.logging import RichHandler

        inner = RichHandler(console=console, show_path=False, markup=False)
        inner.setFormatter(_WithIds("%(message)s"))
    else:
        inner = logging.StreamHandler(sys.stderr)
        inner.setFormatter(_WithIds("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return inner


class JsonHandler(logging.Handler):
    """One JSON object per line on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **ids_of(record),
        }
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = f"{type(error).__name__}: {error}"
        try:
            sys.stderr.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)
