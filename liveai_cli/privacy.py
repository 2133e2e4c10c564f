"""liveai privacy: the access and portability export bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("privacy"))


@app.command("export")
def export(
    user: Annotated[str, typer.Argument(help="A user id, or a subject bound to the user.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the zip bundle.")],
    json_: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Write a zip with JSON per category, the user's media, a bilingual HTML summary and a
    manifest of SHA-256 checksums.

    Example: liveai privacy export u_8f2 --out u_8f2.zip
    """
    from liveai.privacy.export import export_user
    from liveai.storage import open_storage
    from liveai.users import get_user
    from liveai_cli import progress

    _check_out(out)
    settings = state.settings()
    with state.session() as session, progress.step(f"exporting to {out}", enabled=not json_):
        manifest = export_user(
            session,
            open_storage(settings),
            get_user(session, user).id,
            out,
            settings=settings,
            actor=state.actor(),
        )
    if json_:
        output.emit_json(manifest.__dict__)
    else:
        output.info(f"wrote {out} ({len(manifest.files)} files)")


def _check_out(out: Path) -> None:
    from liveai.errors import InvalidInput
    from liveai_cli.outfiles import writable_file

    if out.suffix != ".zip":
        raise InvalidInput(f"{out} does not end in .zip", hint="pass --out FILE.zip")
    if not out.parent.is_dir():
        raise InvalidInput(f"the folder {out.parent} does not exist")
    if out.exists():
        raise InvalidInput(f"{out} already exists", hint="choose another name or remove it")
    writable_file(out, "--out")
