"""Files and folders that hold personal data: only their owner may read them.

Files are created 0600 and folders 0700 whatever the umask says; a file is written under a
fresh name made exclusively next to its target (``mkstemp``) and renamed over it, which
replaces a link planted at the target instead of following it.
"""

from __future__ import annotations

import glob
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(folder: Path) -> Path:
    """Create ``folder`` and its missing parents 0700; folders that exist stay as they are."""
    missing: list[Path] = []
    step = folder
    while not step.exists() and step != step.parent:
        missing.append(step)
        step = step.parent
    for each in reversed(missing):
        try:
            each.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue
        os.chmod(each, FOLDER_MODE)  # mkdir's mode is narrowed by the umask, never widened
    return folder


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600, or make ours 0600 if it exists (so files opened later
    by name, such as SQLite's database and the -wal/-shm files it makes with the same mode,
    are private)."""
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        tighten(path)
    return path


def tighten(path: Path) -> None:
    """Make a regular file of ours 0600 if others may read it (one an older version made)."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        return
    mine = stat.S_ISREG(found.st_mode) and found.st_uid == os.getuid()
    if mine and found.st_mode & 0o077:
        os.chmod(path, FILE_MODE)


@contextmanager
def replacing(target: Path) -> Iterator[BinaryIO]:
    """A 0600 file made exclusively in ``target``'s folder, renamed over ``target`` when the
    block succeeds and removed when it fails. A crash leaves a hidden ``.partial``, which
    the next write of the same target removes (only regular files of ours)."""
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.partial"):
        found = leftover.lstat()
        if stat.S_ISREG(found.st_mode) and found.st_uid == os.getuid():
            leftover.unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    partial = Path(name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def write_private(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` as a 0600 file, all or nothing."""
    with replacing(target) as handle:
        handle.write(data)
