"""LocalStorage: objects as files under one folder, the embedded default."""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from liveai.private_files import private_folder
from liveai.storage.base import (
    TMP_PREFIX,
    DeleteReport,
    Protection,
    StoredObject,
    StoredVersion,
    check_expiry,
    check_key,
    check_prefix,
    not_found,
)


class LocalStorage:
    """A key's parts are folders and the file name under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, data: bytes | BinaryIO, *, content_type: str) -> None:
        path = self._path(key)
        private_folder(path.parent)
        # Write then rename, so a reader (or a crash) never leaves half an object.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise not_found(key) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_file():
            path.unlink(missing_ok=True)
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove folders left empty, so a deleted user leaves no folder named by their id."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def delete_many(self, keys: Sequence[str]) -> DeleteReport:
        deleted: builtins.list[str] = []
        failed: builtins.list[tuple[str, str]] = []
        for key in keys:
            try:
                self.delete(key)
            except OSError as exc:
                failed.append((key, exc.strerror or type(exc).__name__))
            else:
                deleted.append(key)
        return DeleteReport(tuple(deleted), tuple(failed))

    def list(self, prefix: str) -> Iterator[StoredObject]:
        for key, path in self._files(prefix, partial=False):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # deleted while we listed
            yield StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def _files(self, prefix: str, *, partial: bool) -> builtins.list[tuple[str, Path]]:
        """(key, path) of the files under ``prefix`` in key order; partial writes too when
        asked. Walks only the deepest folder the prefix names in full."""
        folder_part = check_prefix(prefix).rpartition("/")[0]
        start = self.root.joinpath(*folder_part.split("/")) if folder_part else self.root
        if not start.is_dir():
            return []
        found = []
        for path in start.rglob("*"):
            if (path.name.startswith(TMP_PREFIX) and not partial) or not path.is_file():
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                found.append((key, path))
        return sorted(found)

    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        for key, path in self._files(prefix, partial=True):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            kind = "partial" if path.name.startswith(TMP_PREFIX) else "object"
            modified = datetime.fromtimestamp(stat.st_mtime, UTC)
            yield StoredVersion(key, None, kind, stat.st_size, modified)

    def purge(self, prefix: str) -> DeleteReport:
        """Every file under the prefix, partial writes included, then the emptied folders."""
        deleted: builtins.list[str] = []
        failed: builtins.list[tuple[str, str]] = []
        for key, path in self._files(prefix, partial=True):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                failed.append((key, exc.strerror or type(exc).__name__))
            else:
                deleted.append(key)
                self._prune(path.parent)
        return DeleteReport(tuple(deleted), tuple(failed))

    def clean_partial(self, before: datetime) -> int:
        removed = 0
        for _key, path in self._files("", partial=True):
            if not path.name.startswith(TMP_PREFIX):
                continue
            try:
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) < before:
                    path.unlink()
                    removed += 1
                    self._prune(path.parent)
            except FileNotFoundError:
                continue  # its write finished (renamed) or another sweep took it
        return removed

    def protection(self) -> Protection:
        return Protection(versioning="not applicable", object_lock="not applicable")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        check_expiry(expires)
        return None
