"""Rewrite an H.264/HEVC MP4 or MOV as a Live Photo MOV, copying the media bytes untouched.

Output layout: `ftyp qt`, `wide`, each input `mdat` (copied file to file), a small `mdat`
with the still-image-time sample, then the rebuilt `moov` with every chunk offset moved to
where its bytes now are. Whether the input had `moov` first or last, 32- or 64-bit box
sizes, `stco` or `co64`, the result is the same shape, and memory holds only `moov`.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from typing import BinaryIO

from liveai.errors import InvalidInput
from liveai.livephoto.boxes import Box, CorruptMovie, copy_range, full_box, make_box
from liveai.livephoto.movbuild import STILL_SAMPLE, movie_meta, still_time_track
from liveai.livephoto.movread import (
    CONTENT_ID_KEY,
    VIDEO_CODECS,
    Movie,
    Track,
    metadata_keys,
)

QT_FTYP = make_box(b"ftyp", b"qt  " + struct.pack(">I", 0x200) + b"qt  ")
WIDE = make_box(b"wide", b"")


@dataclass(frozen=True)
class _Moved:
    """Where an input mdat's payload was and where it is now."""

    start: int
    end: int
    new_start: int


def check_video(movie: Movie) -> Track:
    video = movie.video()
    if video.codec not in VIDEO_CODECS:
        codec = video.codec.decode("latin-1") if video.codec else "unknown"
        raise InvalidInput(
            f"{movie.path.name}: the video is {codec!r}, not H.264 or HEVC",
            hint="re-encode it: ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4",
        )
    if video.codec == b"hev1":
        try:
            _hvcc(video)  # refuses an hev1 entry without parameter sets
        except (struct.error, IndexError):
            raise CorruptMovie(f"{movie.path.name}: the HEVC configuration is malformed") from None
    return video


def write_live_mov(
    movie: Movie, source: BinaryIO, target: BinaryIO, content_id: str, still_at: int
) -> None:
    """Write the Live Photo MOV; `still_at` is the still's time in the movie's timescale."""
    video = check_video(movie)
    target.write(QT_FTYP + WIDE)
    moved = []
    for mdat in movie.mdats:
        header = _mdat_header(mdat.payload_size)
        moved.append(_Moved(mdat.payload_offset, mdat.end, target.tell() + len(header)))
        target.write(header)
        copy_range(source, target, mdat.payload_offset, mdat.payload_size)
    sample_offset = target.tell() + 8
    target.write(make_box(b"mdat", STILL_SAMPLE))
    try:
        moov = _new_moov(movie, video, moved, content_id, still_at, sample_offset)
    except (struct.error, IndexError) as exc:
        raise CorruptMovie(f"{movie.path.name}: the movie header is malformed ({exc})") from None
    target.write(moov)


def _mdat_header(payload_size: int) -> bytes:
    if payload_size + 8 > 0xFFFFFFFF:
        return struct.pack(">I4sQ", 1, b"mdat", payload_size + 16)
    return struct.pack(">I4s", payload_size + 8, b"mdat")


def _new_moov(
    movie: Movie,
    video: Track,
    moved: list[_Moved],
    content_id: str,
    still_at: int,
    sample_offset: int,
) -> bytes:
    kept = [track for track in movie.tracks if track.handler != b"meta"]
    new_id = max([movie.next_track_id, *(track.track_id + 1 for track in movie.tracks)])
    parts = [_header(movie, still_at, new_id + 1)]
    for kid in movie.moov.kids:
        if kid.type == b"udta":
            kid.kids = [box for box in kid.kids if not _names_content(box)]
        if kid.type not in (b"trak", b"mvhd", b"meta"):
            parts.append(kid.encode())
    for track in kept:
        _move_chunks(track, moved, movie.path.name)
        if track is video and video.codec == b"hev1":
            _tag_hvc1(video)
        parts.append(track.box.encode())
    parts.append(still_time_track(new_id, video.track_id, movie.timescale, still_at, sample_offset))
    parts.append(movie_meta(content_id))
    return make_box(b"moov", b"".join(parts))


def _names_content(box: Box) -> bool:
    """An FFmpeg-style `udta/meta` holding a content identifier, which would be a second one."""
    return box.type == b"meta" and CONTENT_ID_KEY in metadata_keys(box)


def _header(movie: Movie, still_at: int, next_track_id: int) -> bytes:
    """mvhd with the next free track id and the duration covering the still's sample."""
    mvhd = movie.moov.find(b"mvhd")
    assert mvhd is not None
    payload = bytearray(mvhd.payload)
    duration = max(movie.duration, still_at + 1)
    if payload[0] == 1:
        payload[24:32] = struct.pack(">Q", duration)
    else:
        payload[16:20] = struct.pack(">I", duration)
    payload[-4:] = struct.pack(">I", next_track_id)
    return make_box(b"mvhd", bytes(payload))


def _move_chunks(track: Track, moved: list[_Moved], name: str) -> None:
    """Point every chunk offset at the byte's new position; widen stco to co64 if needed."""
    stbl = track.box.path(b"mdia", b"minf", b"stbl")
    if stbl is None:
        return
    offsets = track.chunk_offsets()
    starts = [block.start for block in moved]
    new_offsets = []
    for offset in offsets:
        index = bisect.bisect_right(starts, offset) - 1
        if index < 0 or offset > moved[index].end:
            raise CorruptMovie(
                f"{name}: track {track.track_id} points at byte {offset}, outside every mdat",
                hint="the file is damaged; export it again",
            )
        new_offsets.append(offset - moved[index].start + moved[index].new_start)
    wide = any(offset > 0xFFFFFFFF for offset in new_offsets)
    table = full_box(
        b"co64" if wide else b"stco",
        0,
        0,
        struct.pack(f">I{len(new_offsets)}{'Q' if wide else 'I'}", len(new_offsets), *new_offsets),
    )
    stbl.kids = [kid for kid in stbl.kids if kid.type not in (b"stco", b"co64")]
    stbl.kids.append(Box(table[4:8], table[8:]))


def _stsd(track: Track) -> Box:
    stsd = track.box.path(b"mdia", b"minf", b"stbl", b"stsd")
    assert stsd is not None
    return stsd


def _hvcc(track: Track) -> tuple[int, bytes]:
    """(position of hvcC's payload in stsd, hvcC payload) of an HEVC entry with its arrays."""
    payload = _stsd(track).payload
    at = payload.find(b"hvcC", 8 + 86)
    if at < 4:
        raise InvalidInput("the HEVC video has no hvcC configuration", hint="re-encode it")
    (size,) = struct.unpack(">I", payload[at - 4 : at])
    config = payload[at + 4 : at - 4 + size]
    if len(config) < 23 or config[22] == 0:
        raise InvalidInput(
            "the HEVC video keeps its parameter sets only in the stream (hev1)",
            hint="remux it with the hvc1 tag: ffmpeg -i IN -c copy -tag:v hvc1 OUT.mov",
        )
    return at + 4, config


def _tag_hvc1(track: Track) -> None:
    """hev1 -> hvc1: the parameter sets are already in hvcC; mark each array complete."""
    stsd = _stsd(track)
    start, config = _hvcc(track)
    payload = bytearray(stsd.payload)
    payload[12:16] = b"hvc1"
    at = start + 23
    for _ in range(config[22]):
        payload[at] |= 0x80
        (count,) = struct.unpack(">H", payload[at + 1 : at + 3])
        at += 3
        for _ in range(count):
            (length,) = struct.unpack(">H", payload[at : at + 2])
            at += 2 + length
    stsd.payload = bytes(payload)
