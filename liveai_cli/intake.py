"""liveai intake: run a photo through intake, as a generation would, and show the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.infiles import read_bytes

app = App(help=summary("intake"))


@app.command("check")
@output.json_option
def check(
    photo: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A photo file.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write the normalised, metadata-free JPEG here.")
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Validate a photo; show its detected type, upright size and hashes, or why it is refused.

    A refused photo exits 2 with the reason. The type comes from the content, not the name.

    Example: liveai intake check IMG_0042.HEIC --out clean.jpg
    """
    from liveai.images import IntakeLimits, prepare_image
    from liveai_cli.outfiles import writable_file

    if out is not None:
        writable_file(out, "--out")
    prepared = prepare_image(read_bytes(photo), IntakeLimits.from_settings(state.settings()))
    if out is not None:
        from liveai.private_files import write_private

        write_private(out, prepared.jpeg)
    shown = {
        "source_type": prepared.source_type,
        "source_bytes": prepared.source_bytes,
        "width": prepared.width,
        "height": prepared.height,
        "jpeg_bytes": len(prepared.jpeg),
        "sha256": prepared.sha256,
        "source_sha256": prepared.source_sha256,
    }
    output.emit(shown, fmt)
    if out is not None:
        output.info(f"wrote {out}")
