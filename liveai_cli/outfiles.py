"""Checking where a command will write, before it does anything that costs or stores."""

from __future__ import annotations

import os
from pathlib import Path


def writable_folder(folder: Path, option: str) -> None:
    """Make ``folder`` if needed and check files can be written in it; InvalidInput (one
    line) otherwise."""
    from liveai.errors import InvalidInput

    hint = f"pass {option} a folder you can write to"
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{option} {folder} is not a folder", hint=hint)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {option} {folder}: {exc.strerror}", hint=hint) from None
    if not os.access(folder, os.W_OK | os.X_OK) or _special(folder):
        raise InvalidInput(f"cannot write in {option} {folder}", hint=hint)


def writable_file(path: Path, option: str) -> None:
    """Check a file can be created (or replaced) at ``path``; InvalidInput otherwise."""
    from liveai.errors import InvalidInput

    hint = f"pass {option} a file path in a folder you can write to"
    if path.is_dir():
        raise InvalidInput(f"{option} {path} is a folder", hint=hint)
    if path.exists() and not path.is_file():
        raise InvalidInput(f"{option} {path} is not a regular file", hint=hint)
    parent = path.parent
    if not parent.is_dir():
        raise InvalidInput(f"{option} {path}: no such folder {parent}", hint=hint)
    if _special(parent):
        raise InvalidInput(f"{option} {path}: {parent} holds no ordinary files", hint=hint)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidInput(f"cannot write in {parent}", hint=hint)


def new_zip(out: Path, option: str) -> None:
    """Check a zip bundle can be written at ``out``, a name not taken yet."""
    from liveai.errors import InvalidInput

    if out.suffix != ".zip":
        raise InvalidInput(f"{out} does not end in .zip", hint=f"pass {option} FILE.zip")
    if not out.parent.is_dir():
        raise InvalidInput(f"the folder {out.parent} does not exist")
    if out.exists():
        raise InvalidInput(f"{out} already exists", hint="choose another name or remove it")
    writable_file(out, option)


def _special(folder: Path) -> bool:
    """A kernel file system (/proc, /sys), where root may pass the access check but no
    ordinary file can be made."""
    resolved = folder.resolve()
    return any(resolved == Path(top) or Path(top) in resolved.parents for top in ("/proc", "/sys"))
