"""liveai privacy: the access and portability export bundle."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from liveai_cli import output, progress, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.options import UserRefArg
from liveai_cli.outfiles import new_zip

app = App(help=summary("privacy"))


@app.command("export")
@output.json_option
def export(
    user: UserRefArg,
    out: Annotated[Path, typer.Option("--out", help="Where to write the zip bundle.")],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Write a zip with JSON per category, the user's media, a bilingual HTML summary and a
    manifest of SHA-256 checksums.

    Example: liveai privacy export u_8f2 --out u_8f2.zip
    """
    from liveai.privacy.export import export_user
    from liveai.storage import open_storage
    from liveai.users import get_user

    new_zip(out, "--out")
    settings = state.settings()
    with state.session() as session, progress.step(f"exporting to {out}", enabled=not fmt.json):
        manifest = export_user(
            session,
            open_storage(settings),
            get_user(session, user).id,
            out,
            settings=settings,
            actor=state.actor(),
        )
    output.done(asdict(manifest), fmt, f"wrote {out} ({len(manifest.files)} files)")
