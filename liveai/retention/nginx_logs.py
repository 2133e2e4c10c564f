"""Remove rotated nginx access logs whose newest entry is older than the retention period.

The age of a log is read from the timestamps inside it, never from its mtime, which
copies and restores change: each line is matched against the configured ``log_format``
(nginx's combined by default) and its ``$time_local`` (``10/Oct/2026:13:55:36 +0800``) or
``$time_iso8601`` read from its position there. A date a client sends in a field of its
own (``$remote_user``, a header) cannot stand in for it: the whole line must fit the
format, and nginx escapes the quotes that delimit the fields after it. The live log (no
rotation suffix) is never touched; a file with no readable timestamp is kept and reported.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from liveai.errors import ConfigError

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
LOCAL_TIME = r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}"
ISO_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})"
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")
_QUOTED_VALUE = r'(?:[^"\\]|\\.)*'  # nginx writes a quote inside a value as \x22
_TIME_GROUPS = {"time_local": f"(?P<local>{LOCAL_TIME})", "time_iso8601": f"(?P<iso>{ISO_TIME})"}
ROTATED = re.compile(r"^(?P<base>.+\.log)(?:[.-](?P<suffix>\d[\w.-]*?))(?:\.gz)?$")


@dataclass(frozen=True)
class LogFile:
    path: Path
    newest: datetime | None
    size: int


@dataclass
class LogSweepReport:
    dry_run: bool
    cutoff: datetime
    removed: list[LogFile] = field(default_factory=list)
    kept: list[LogFile] = field(default_factory=list)
    unreadable: list[LogFile] = field(default_factory=list)
    live: list[Path] = field(default_factory=list)

    @property
    def bytes_removed(self) -> int:
        return sum(f.size for f in self.removed)


def is_rotated(path: Path) -> bool:
    return ROTATED.match(path.name) is not None


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        yield from handle


@lru_cache(maxsize=8)
def line_pattern(log_format: str) -> re.Pattern[str]:
    """A regex matching a whole line written in ``log_format``; its first time variable is
    captured as ``local`` ($time_local) or ``iso`` ($time_iso8601)."""
    parts: list[str] = []
    position, quoted, timed = 0, False, False
    for found in _VARIABLE.finditer(log_format):
        literal = log_format[position : found.start()]
        quoted ^= literal.count('"') % 2 == 1
        name = found.group(1) or found.group(2)
        parts.append(re.escape(literal))
        if name in _TIME_GROUPS and not timed:
            parts.append(_TIME_GROUPS[name])
            timed = True
        else:
            parts.append(_QUOTED_VALUE if quoted else ".*?")
        position = found.end()
    if not timed:
        raise ConfigError(
            "the nginx log format has no $time_local or $time_iso8601",
            hint="set LIVEAI_NGINX_LOG_FORMAT to the log_format of the access logs",
        )
    return re.compile("".join(parts) + re.escape(log_format[position:]) + r"\s*")


def _parse_time(line: str, pattern: re.Pattern[str]) -> datetime | None:
    match = pattern.fullmatch(line)
    if match is None:
        return None
    found = match.groupdict()
    if found.get("local"):
        return datetime.strptime(found["local"], "%d/%b/%Y:%H:%M:%S %z")
    try:
        return datetime.fromisoformat(found["iso"].replace("Z", "+00:00"))
    except ValueError:
        return None


def newest_entry(path: Path, log_format: str = COMBINED) -> datetime | None:
    """The latest timestamp in the file (lines may be out of order); None if there is none."""
    pattern = line_pattern(log_format)
    newest: datetime | None = None
    try:
        for line in _lines(path):
            stamp = _parse_time(line, pattern)
            if stamp is not None and (newest is None or stamp > newest):
                newest = stamp
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return newest


def sweep_logs(
    folder: Path,
    *,
    days: int,
    now: datetime,
    dry_run: bool = False,
    log_format: str = COMBINED,
    on_file: Callable[[int, int], None] | None = None,
) -> LogSweepReport:
    """Delete rotated logs in ``folder`` whose newest entry is older than ``days`` days;
    ``on_file(done, total)`` hears each file looked at."""
    report = LogSweepReport(dry_run=dry_run, cutoff=now - timedelta(days=days))
    files = sorted(p for p in folder.iterdir() if p.is_file())
    for done, path in enumerate(files, 1):
        if on_file is not None:
            on_file(done, len(files))
        if not is_rotated(path):
            if path.name.endswith(".log"):
                report.live.append(path)
            continue
        entry = LogFile(path, newest_entry(path, log_format), path.stat().st_size)
        if entry.newest is None:
            report.unreadable.append(entry)
        elif entry.newest < report.cutoff:
            report.removed.append(entry)
            if not dry_run:
                path.unlink(missing_ok=True)
        else:
            report.kept.append(entry)
    return report


LOGROTATE_TEMPLATE = """\
# nginx access logs: live.ai privacy policy, IP and user agent kept {days} days.
# Rotated daily; liveai retention logs deletes by the timestamps inside each file.
{log_glob} {{
    daily
    rotate {days}
    maxage {days}
    missingok
    notifempty
    compress
    delaycompress
    dateext
    dateformat -%Y%m%d
    create 0640 www-data adm
    sharedscripts
    postrotate
        [ -f /var/run/nginx.pid ] && kill -USR1 "$(cat /var/run/nginx.pid)"
    endscript
}}
"""


def logrotate_config(*, days: int, log_glob: str = "/var/log/nginx/*.log") -> str:
    return LOGROTATE_TEMPLATE.format(days=days, log_glob=log_glob)
