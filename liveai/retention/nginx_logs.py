"""Remove rotated nginx access logs whose newest entry is older than the retention period.

The age of a log is read from the timestamps inside it (``[10/Oct/2026:13:55:36 +0800]``
in nginx's combined format, or an ISO 8601 ``$time_iso8601``), never from its mtime,
which copies and restores change. The live log (no rotation suffix) is never touched; a
file with no readable timestamp is kept and reported.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

COMBINED_TIME = re.compile(r"\[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")
ISO_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))")
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


def _parse_time(line: str) -> datetime | None:
    match = COMBINED_TIME.search(line)
    if match:
        return datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z")
    match = ISO_TIME.search(line)
    if match:
        try:
            return datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def newest_entry(path: Path) -> datetime | None:
    """The latest timestamp in the file (lines may be out of order); None if there is none."""
    newest: datetime | None = None
    try:
        for line in _lines(path):
            stamp = _parse_time(line)
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
        entry = LogFile(path, newest_entry(path), path.stat().st_size)
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
