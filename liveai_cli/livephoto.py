"""liveai livephoto: write Live Photo pairs (and Motion Photos) and say whether a pair pairs."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

if TYPE_CHECKING:
    from liveai.livephoto.inspect import LivePhotoReport
    from liveai.livephoto.still import StillFormat

app = App(help=summary("livephoto"))

FormatOption = Annotated[str, typer.Option("--format", help="The still's format: heic or jpeg.")]
StillOption = Annotated[
    Path | None,
    typer.Option(
        "--still", help="The photo (JPEG, PNG or HEIC); default: the video's frame at --still-at."
    ),
]
StillAtOption = Annotated[
    float, typer.Option("--still-at", min=0, help="The still's time in the video, in seconds.")
]


def _format(value: str) -> StillFormat:
    from liveai.errors import InvalidInput

    if value not in ("heic", "jpeg"):
        raise InvalidInput(f"unknown format {value!r}", hint="pick heic or jpeg")
    return cast("StillFormat", value)


@app.command("make")
@output.json_option
def make(
    video: Annotated[Path, typer.Argument(help="An H.264 or HEVC MP4/MOV.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for STEM.HEIC|JPG + STEM.MOV.")],
    still: StillOption = None,
    format_: FormatOption = "heic",
    still_at: StillAtOption = 0.0,
    stem: Annotated[
        str | None, typer.Option(help="The files' shared name; default: the video's.")
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Write a Live Photo pair: the still and a MOV sharing one content identifier.

    The video is copied without re-encoding; the still is cropped to the video's aspect.

    Example: liveai livephoto make clip.mp4 --still photo.jpg --out lp
    """
    from liveai.livephoto import make_pair

    pair = make_pair(
        video, still, out, stem=stem, still_format=_format(format_), still_time=still_at
    )
    output.emit(pair.to_dict(), fmt)


@app.command("inspect")
@output.json_option
def inspect(
    files: Annotated[
        list[Path], typer.Argument(help="Stills (JPEG, HEIC) and MOVs; pairs match by name.")
    ],
    fmt: output.Format = output.HUMAN,
) -> None:
    """Read content identifiers, still times, codecs and aspects; say whether each pair pairs.

    Exit 0 when every pair given pairs (and a file given alone could), 1 with the reasons
    otherwise, 2 for unreadable input.

    Example: liveai livephoto inspect lp/IMG_0001.HEIC lp/IMG_0001.MOV
    """
    from liveai.livephoto import inspect as read

    report = read(files)
    if fmt.json:
        output.emit(report.to_dict(), fmt)
    else:
        _render(report)
    if not report.ok:
        raise typer.Exit(1)


def _render(report: LivePhotoReport) -> None:
    paired = {path for verdict in report.pairs for path in (verdict.still, verdict.video)}
    for facts in report.files:
        shown = {
            key: value
            for key, value in asdict(facts).items()
            if value not in (None, []) and key not in ("path", "problems")
        }
        output.text(facts.path)
        output.fields({f"  {key}": value for key, value in shown.items()})
        if facts.path not in paired:
            for problem in facts.problems:
                output.text(f"  - {problem}")
    for verdict in report.pairs:
        names = f"{Path(verdict.still).name} + {Path(verdict.video).name}"
        output.text(f"{names}: {'pairs' if verdict.pairs else 'does not pair'}")
        for reason in verdict.reasons:
            output.text(f"  - {reason}")


@app.command("motion")
@output.json_option
def motion(
    video: Annotated[Path, typer.Argument(help="An H.264 or HEVC MP4/MOV.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="The Motion Photo file, NAME.MP.jpg.")],
    still: StillOption = None,
    still_at: StillAtOption = 0.0,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Write an Android (Google) Motion Photo: the still as JPEG with the video appended.

    Example: liveai livephoto motion clip.mp4 --still photo.jpg --out shot.MP.jpg
    """
    from liveai.livephoto import make_motion_photo

    written = make_motion_photo(video, still, out, still_time=still_at)
    output.emit({"file": str(written), "bytes": written.stat().st_size}, fmt)


@app.command("from-task")
@output.json_option
def from_task(
    task: Annotated[str, typer.Argument(help="A succeeded task's id.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the pair.")],
    format_: FormatOption = "heic",
    fmt: output.Format = output.HUMAN,
) -> None:
    """Turn a finished task's stored video (and its photo) into a Live Photo pair.

    Example: liveai livephoto from-task 7d0c6f7e-1f0e-4a43-9d3b-2f6f1b9c2a10 --out lp
    """
    from liveai.generation import get_task
    from liveai.livephoto.from_task import pair_from_task
    from liveai.storage import open_storage

    storage = open_storage(state.settings())
    with state.session() as session:
        found = get_task(session, task)
        pair = pair_from_task(session, storage, found, out, still_format=_format(format_))
    output.emit(pair.to_dict(), fmt)
