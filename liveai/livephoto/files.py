"""Writing results whole or not at all: a temporary name in the target folder, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from liveai.errors import InvalidInput


def ensure_folder(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(
            f"--out {out_dir} exists and is a file", hint="pass a folder (it is created if missing)"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create the folder {out_dir}: {exc.strerror}") from None


@contextmanager
def staged(targets: list[Path]) -> Iterator[list[BinaryIO]]:
    """Open one temporary file per target; rename all of them into place only on success."""
    handles: list[tuple[BinaryIO, Path]] = []
    try:
        for target in targets:
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
            handles.append((os.fdopen(fd, "w+b"), Path(name)))
        yield [handle for handle, _ in handles]
        for (handle, temporary), target in zip(handles, targets, strict=True):
            handle.close()
            os.replace(temporary, target)
    finally:
        for handle, temporary in handles:
            handle.close()
            with suppress(FileNotFoundError):
                temporary.unlink()
