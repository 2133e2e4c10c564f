"""liveai storage: check the configured object storage and look inside it."""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("storage"))


@app.command("check")
@output.json_option
def check(fmt: output.Format = output.HUMAN) -> None:
    """Write, read back and delete a probe object, and report what the store keeps after
    a delete (versioning, object lock); exit 1 if any step fails.

    Example: liveai storage check --json
    """
    from liveai.storage import open_storage, probe_storage

    storage = open_storage(state.settings())
    try:
        probe_storage(storage)
        kept = storage.protection()
    finally:
        getattr(storage, "close", lambda: None)()
    shown = {
        "ok": True,
        "storage": storage.describe(),
        "versioning": kept.versioning,
        "object_lock": kept.object_lock,
        "blocks_erasure": kept.blocks_erasure,
    }
    if fmt.json:
        output.emit(shown, fmt)
    else:
        output.text(f"storage ok: {storage.describe()} (write, read, delete)")
        output.text(f"versioning: {kept.versioning}; object lock: {kept.object_lock}")
    if kept.blocks_erasure:
        output.warn(f"erasure is refused here: {kept.blocks_erasure}")


@app.command("ls")
@output.list_options
def ls(
    prefix: Annotated[str, typer.Argument(help="Only keys starting with this.")] = "",
    user: Annotated[
        str | None, typer.Option(help="Only this user's objects (an id or a subject).")
    ] = None,
    versions: Annotated[
        bool,
        typer.Option(
            "--versions", help="Also older versions, delete markers and unfinished writes."
        ),
    ] = False,
    fmt: output.Format = output.HUMAN,
) -> None:
    """List stored objects by key prefix, in key order, with their sizes.

    Example: liveai storage ls --user 6f1c1f3e-8d55-4d7a-9a43-5b0e2c1d9a10 --json
    """
    if versions:
        _ls_versions(prefix, user, fmt)
        return
    from liveai.storage import open_storage, user_prefix

    if user is not None:
        from liveai.users import get_user

        with state.session() as session:
            prefix = user_prefix(get_user(session, user).id) + prefix
    storage = open_storage(state.settings())
    try:
        objects = list(storage.list(prefix))
    finally:
        getattr(storage, "close", lambda: None)()
    rows = [
        {"key": o.key, "size": o.size, "modified": o.modified.isoformat(timespec="seconds")}
        for o in objects
    ]
    output.emit(rows, fmt, ["key", "size", "modified"], empty=f"no objects in {storage.describe()}")
    if rows and fmt.name == "human":
        from liveai_cli.cells import human_bytes

        total = sum(o.size for o in objects)
        noun = "object" if len(objects) == 1 else "objects"
        output.info(f"{len(objects)} {noun}, {human_bytes(total)} in {storage.describe()}")


def _ls_versions(prefix: str, user: str | None, fmt: output.Format) -> None:
    """Everything under the prefix that still holds bytes or history."""
    from liveai.storage import open_storage, user_prefix

    if user is not None:
        from liveai.users import get_user

        with state.session() as session:
            prefix = user_prefix(get_user(session, user).id) + prefix
    storage = open_storage(state.settings())
    try:
        found = list(storage.versions(prefix))
    finally:
        getattr(storage, "close", lambda: None)()
    rows = [
        {
            "key": v.key,
            "kind": v.kind,
            "version_id": v.version_id,
            "size": v.size,
            "modified": v.modified.isoformat(timespec="seconds"),
        }
        for v in found
    ]
    columns = ["key", "kind", "version_id", "size", "modified"]
    output.emit(rows, fmt, columns, empty=f"no versions in {storage.describe()}")
    if rows and fmt.name == "human":
        output.info(f"{len(rows)} versions in {storage.describe()}")


@app.command("url")
def url(
    key: Annotated[str, typer.Argument(help="The object's key.")],
    expires: Annotated[
        int, typer.Option(min=1, max=604800, help="Seconds the URL stays valid.")
    ] = 600,
) -> None:
    """Print a presigned download URL for one object (S3 only; local storage has none).

    Example: liveai storage url users/6f1c1f3e-8d55-4d7a-9a43-5b0e2c1d9a10/results/v.mp4
    """
    from datetime import timedelta

    from liveai.errors import InvalidInput, NotFound
    from liveai.storage import open_storage

    storage = open_storage(state.settings())
    try:
        if not storage.exists(key):
            raise NotFound(f"no stored object {key!r}", hint="see `liveai storage ls`")
        link = storage.presigned_url(key, timedelta(seconds=expires))
    finally:
        getattr(storage, "close", lambda: None)()
    if link is None:
        raise InvalidInput(
            f"{storage.describe()} is a local folder: it has no download URLs",
            hint="read the file from that folder, or use LIVEAI_STORAGE=s3",
        )
    output.text(link)
