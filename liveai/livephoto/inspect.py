"""inspect: what a JPEG, HEIC or MOV says about pairing, and why a pair would not pair."""

from __future__ import annotations

import struct
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from liveai.errors import InvalidInput
from liveai.livephoto.movbuild import STILL_SAMPLE
from liveai.livephoto.movread import (
    CHECK_PATH,
    CONTENT_ID_KEY,
    VIDEO_CODECS,
    Movie,
    Track,
    read_movie,
    still_time_s,
)
from liveai.livephoto.stillread import heic_exif, jpeg_exif, kind_of
from liveai.livephoto.tiff import UNDEFINED, read_exif

_TYPE_NAMES = {1: "BYTE", 2: "ASCII", 7: "UNDEFINED"}
_ASPECT_TOLERANCE = 0.01
# What a MOV or MP4 can start with (QuickTime allows any of these first)
_MOVIE_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"meta"}


@dataclass
class FileFacts:
    path: str
    kind: str  # jpeg, heic or mov
    content_id: str | None = None
    width: float | None = None
    height: float | None = None
    maker_note_type: str | None = None  # stills
    brand: str | None = None  # videos
    codec: str | None = None
    duration_s: float | None = None
    still_time_s: float | None = None
    keys_in: str | None = None  # moov/meta, udta/meta
    problems: list[str] = field(default_factory=list)  # what stops this file pairing

    @property
    def aspect(self) -> float | None:
        return self.width / self.height if self.width and self.height else None


@dataclass
class PairVerdict:
    still: str
    video: str
    pairs: bool
    reasons: list[str]


@dataclass
class LivePhotoReport:
    files: list[FileFacts]
    pairs: list[PairVerdict]

    @property
    def ok(self) -> bool:
        """Every pair pairs, and no file given alone has a reason it could not."""
        paired = all(verdict.pairs for verdict in self.pairs)
        return paired and not any(facts.problems for facts in self.files)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "files": [asdict(facts) for facts in self.files],
            "pairs": [asdict(verdict) for verdict in self.pairs],
        }


def inspect(paths: list[Path]) -> LivePhotoReport:
    """Read each file; pair stills with videos by stem (or the only two given)."""
    if not paths:
        raise InvalidInput("no files to inspect", hint="pass a still and its MOV")
    files = [describe(path) for path in paths]
    return LivePhotoReport(files, [_verdict(s, v) for s, v in _pairs(files)])


def describe(path: Path) -> FileFacts:
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", hint=CHECK_PATH) from None
    kind = kind_of(head)
    if kind is None and len(head) >= 8 and head[4:8] not in _MOVIE_BOXES:
        raise InvalidInput(
            f"{path.name} is not a JPEG, HEIC, MOV or MP4", hint="pass a Live Photo's still and MOV"
        )
    if kind is None:
        return _describe_movie(path)
    return _describe_still(path, kind)


def _describe_still(path: Path, kind: str) -> FileFacts:
    from PIL import Image, UnidentifiedImageError
    from pillow_heif import register_heif_opener

    register_heif_opener()
    data = path.read_bytes()
    facts = FileFacts(str(path), kind)
    try:
        with warnings.catch_warnings():
            # Only the header is read here: a large size is a fact to report, not a risk.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                facts.width, facts.height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"cannot decode the still {path.name}: {exc}") from None
    try:
        tiff = jpeg_exif(data) if kind == "jpeg" else heic_exif(data)
    except (struct.error, IndexError) as exc:
        raise InvalidInput(f"{path.name}: the image's boxes are malformed ({exc})") from None
    found = read_exif(tiff) if tiff else None
    if found is None or found.maker_note_type is None:
        facts.problems.append("the still has no MakerNote (EXIF 0x927C), so no content identifier")
        return facts
    facts.maker_note_type = _TYPE_NAMES.get(found.maker_note_type, str(found.maker_note_type))
    facts.content_id = found.content_id
    if found.maker_note_type != UNDEFINED:
        facts.problems.append(
            f"the still's MakerNote is typed {facts.maker_note_type}, not UNDEFINED (7)"
        )
    if not found.is_apple:
        facts.problems.append("the still's MakerNote is not Apple's")
    elif found.content_id is None:
        facts.problems.append("the still's Apple MakerNote has no content identifier (0x0011)")
    return facts


def _describe_movie(path: Path) -> FileFacts:
    movie = read_movie(path)
    facts = FileFacts(str(path), "mov", brand=_text(movie.brand))
    facts.duration_s = round(movie.duration_s, 3)
    video = next((track for track in movie.tracks if track.is_video), None)
    if video is None:
        facts.problems.append("the video has no video track")
    else:
        facts.width, facts.height = (_whole(side) for side in video.shown_size())
        facts.codec = _text(video.codec)
        if video.codec not in VIDEO_CODECS or video.codec == b"hev1":
            facts.problems.append(
                f"the video codec is {facts.codec!r}, not H.264 (avc1) or HEVC (hvc1)"
            )
    if movie.brand != b"qt  ":
        facts.problems.append(f"the file brand is {facts.brand!r}, not QuickTime ('qt  ')")
    _content_identifier(movie, facts)
    _still_time(movie, facts, video.track_id if video else None)
    return facts


def _content_identifier(movie: Movie, facts: FileFacts) -> None:
    if CONTENT_ID_KEY in movie.meta_keys:
        facts.content_id = movie.meta_keys[CONTENT_ID_KEY].decode("utf-8", "replace")
        facts.keys_in = "moov/meta"
    elif CONTENT_ID_KEY in movie.udta_keys:
        facts.content_id = movie.udta_keys[CONTENT_ID_KEY].decode("utf-8", "replace")
        facts.keys_in = "udta/meta"
        facts.problems.append(
            "the video's content identifier is only in moov/udta/meta (FFmpeg's place), "
            "not moov/meta where Apple reads it"
        )
    else:
        facts.problems.append("the video has no content identifier (moov/meta key)")


def _still_time(movie: Movie, facts: FileFacts, video_id: int | None) -> None:
    track = next((track for track in movie.tracks if track.is_still_time), None)
    if track is None:
        facts.problems.append("the video has no still-image-time (mebx) track")
        return
    facts.still_time_s = round(still_time_s(movie, track), 6)
    if video_id is not None and video_id not in track.described:
        facts.problems.append("the still-image-time track does not describe the video (tref/cdsc)")
    if track.track_id >= movie.next_track_id:
        facts.problems.append("a track id is not below mvhd's next_track_ID")
    sample = _first_sample(movie, track)
    if len(sample) != len(STILL_SAMPLE) or sample[:8] != STILL_SAMPLE[:8]:
        facts.problems.append("the still-image-time sample is not a 9-byte key-1 item")
    if not 0 <= facts.still_time_s < max(movie.duration_s, 1e-9):
        facts.problems.append("the still-image time is outside the video")


def _first_sample(movie: Movie, track: Track) -> bytes:
    offsets = track.chunk_offsets()
    size = track.first_sample_size()
    if not offsets or size is None or offsets[0] + size > movie.size:
        return b""
    with movie.path.open("rb") as file:
        file.seek(offsets[0])
        return file.read(size)


def _pairs(files: list[FileFacts]) -> list[tuple[FileFacts, FileFacts]]:
    stills = [facts for facts in files if facts.kind != "mov"]
    videos = [facts for facts in files if facts.kind == "mov"]
    if len(stills) == 1 and len(videos) == 1:
        return [(stills[0], videos[0])]
    by_stem = {Path(v.path).stem.lower(): v for v in videos}
    return [
        (still, by_stem[Path(still.path).stem.lower()])
        for still in stills
        if Path(still.path).stem.lower() in by_stem
    ]


def _verdict(still: FileFacts, video: FileFacts) -> PairVerdict:
    reasons = [*still.problems, *video.problems]
    if still.content_id and video.content_id and still.content_id != video.content_id:
        reasons.append(
            f"the content identifiers differ: still {still.content_id}, video {video.content_id}"
        )
    if still.aspect and video.aspect and abs(still.aspect / video.aspect - 1) > _ASPECT_TOLERANCE:
        reasons.append(
            f"the aspects differ: still {still.width:g}x{still.height:g}, "
            f"video {video.width:g}x{video.height:g}"
        )
    return PairVerdict(still.path, video.path, not reasons, reasons)


def _whole(value: float) -> float:
    return int(value) if value.is_integer() else value


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
