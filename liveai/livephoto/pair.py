"""make_pair: a still and a MOV with one stem and one content identifier."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from liveai.errors import InvalidInput
from liveai.livephoto.files import ensure_folder, staged
from liveai.livephoto.movread import Movie, read_movie
from liveai.livephoto.movwrite import check_video, write_live_mov
from liveai.livephoto.still import (
    SUFFIXES,
    StillFormat,
    crop_to_aspect,
    fit_format,
    frame_at,
    load_still,
    write_still,
)
from liveai.livephoto.tiff import exif_block

_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_CONTENT_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


@dataclass(frozen=True)
class LivePhotoPair:
    still: Path
    video: Path
    content_id: str
    still_time_s: float
    width: int  # of the still
    height: int
    codec: str

    def to_dict(self) -> dict[str, object]:
        return {
            "still": str(self.still),
            "video": str(self.video),
            "content_id": self.content_id,
            "still_time_s": self.still_time_s,
            "still_size": f"{self.width}x{self.height}",
            "codec": self.codec,
        }


def make_pair(
    video: Path,
    still: Path | None,
    out_dir: Path,
    *,
    stem: str | None = None,
    still_format: StillFormat = "heic",
    still_time: float | None = None,
    content_id: str | None = None,
) -> LivePhotoPair:
    """Write `STEM.HEIC|JPG` + `STEM.MOV` into `out_dir`, paired by one content identifier.

    Without a still, the video's frame at `still_time` becomes the still. The still is
    cropped (centred) to the video's aspect; the video is copied, never re-encoded.
    """
    identifier = _content_id(content_id)
    name = _stem(stem or video.stem)
    movie = read_movie(video)
    track = check_video(movie)
    at = _still_ticks(movie, still_time or 0.0)
    image = load_still(still) if still is not None else frame_at(video, still_time or 0.0)
    width, height = track.shown_size()
    if width <= 0 or height <= 0:
        raise InvalidInput(f"{video.name}: the video track has no picture size")
    image = fit_format(crop_to_aspect(image, width, height), still_format)
    ensure_folder(out_dir)
    still_path = out_dir / f"{name}{SUFFIXES[still_format]}"
    movie_path = out_dir / f"{name}.MOV"
    exif = exif_block(identifier, *image.size)
    with (
        staged([still_path, movie_path]) as (still_file, movie_file),
        ThreadPoolExecutor(1) as pool,
    ):
        # the encoder releases the GIL: the still is made while the MOV is copied
        encoding = pool.submit(write_still, image, exif, still_format, still_file)
        with video.open("rb") as source:
            write_live_mov(movie, source, movie_file, identifier, at)
        encoding.result()
    return LivePhotoPair(
        still=still_path,
        video=movie_path,
        content_id=identifier,
        still_time_s=at / movie.timescale,
        width=image.size[0],
        height=image.size[1],
        codec="hevc" if track.codec in (b"hvc1", b"hev1") else "h264",
    )


def _still_ticks(movie: Movie, seconds: float) -> int:
    if seconds < 0 or seconds >= movie.duration_s:
        raise InvalidInput(
            f"the still time {seconds:g} s is outside the video (0 to {movie.duration_s:g} s)",
            hint="pass --still-at within the video's length",
        )
    return round(seconds * movie.timescale)


def _stem(value: str) -> str:
    if not _STEM.match(value):
        raise InvalidInput(
            f"the name {value!r} cannot be a file stem", hint="use letters, digits, '.', '_' or '-'"
        )
    return value


def _content_id(value: str | None) -> str:
    chosen = (value or str(uuid.uuid4())).upper()
    if not _CONTENT_ID.match(chosen):
        raise InvalidInput(
            f"content identifier {value!r} is not a UUID", hint="leave it out to get a new one"
        )
    return chosen
