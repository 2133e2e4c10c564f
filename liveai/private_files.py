"""Files and folders that hold personal data: only their owner may read them.

Files are created 0600 and folders 0700 whatever the umask says; a file is written under a
fresh name made exclusively next to its target (``mkstemp``) and renamed over it, which
replaces a link planted at the target instead of following it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
    """Create ``path`` empty and 0600 unless it exists (so files opened later by name, such
    as SQLite's database and the -wal/-shm files it makes with the same mode, are private)."""
    private_folder(path.parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    return path


@contextmanager
def replacing(target: Path) -> Iterator[BinaryIO]:
    """A 0600 file made exclusively in ``target``'s folder, renamed over ``target`` when the
    block succeeds and removed when it fails; a crash leaves at most a hidden ``.partial``."""
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
