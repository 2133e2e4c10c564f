"""Read a MOV/MP4's structure: top-level boxes, the movie header, tracks and metadata keys.

Only `moov` is read into memory; `mdat` is located, never loaded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from liveai.errors import InvalidInput
from liveai.livephoto.boxes import Box, BoxHeader, CorruptMovie, children, parse_tree, top_level

CHECK_PATH = "check the path and that the file is readable"

STILL_IMAGE_TIME = "com.apple.quicktime.still-image-time"
CONTENT_ID_KEY = "com.apple.quicktime.content.identifier"
VIDEO_CODECS = {b"avc1": "h264", b"hvc1": "hevc", b"hev1": "hevc"}


@dataclass
class Track:
    box: Box
    track_id: int
    handler: bytes
    codec: bytes | None
    width: float
    height: float
    duration: int  # movie timescale
    media_timescale: int
    edits: list[tuple[int, int]]  # (segment duration in movie timescale, media time or -1)
    described: list[int]  # tref/cdsc track ids
    entry_keys: list[str]  # the keys a `mebx` sample entry declares

    @property
    def is_video(self) -> bool:
        return self.handler == b"vide"

    @property
    def is_still_time(self) -> bool:
        return self.codec == b"mebx" and STILL_IMAGE_TIME in self.entry_keys

    def shown_size(self) -> tuple[float, float]:
        """Width and height as displayed: tkhd's size, swapped when its matrix turns 90°."""
        head = self.box.find(b"tkhd")
        a, b = struct.unpack(">ii", head.payload[-44:-36]) if head else (1, 0)
        if a == 0 and b != 0:
            return self.height, self.width
        return self.width, self.height

    def chunk_offsets(self) -> list[int]:
        stbl = self.box.path(b"mdia", b"minf", b"stbl")
        if stbl is None:
            return []
        table = stbl.find(b"co64") or stbl.find(b"stco")
        if table is None:
            return []
        width = 8 if table.type == b"co64" else 4
        (count,) = struct.unpack(">I", table.payload[4:8])
        entries = table.payload[8 : 8 + width * count]
        if len(entries) != width * count:
            raise CorruptMovie(f"track {self.track_id}: its chunk offset table is cut short")
        return list(struct.unpack(f">{count}{'Q' if width == 8 else 'I'}", entries))

    def first_sample_size(self) -> int | None:
        """The first sample's size (stsz: one size for all, or a table), None if none."""
        stsz = self.box.path(b"mdia", b"minf", b"stbl", b"stsz")
        if stsz is None or len(stsz.payload) < 12:
            return None
        size, count = struct.unpack(">II", stsz.payload[4:12])
        if count == 0 or (size == 0 and len(stsz.payload) < 16):
            return None
        return int(size or struct.unpack(">I", stsz.payload[12:16])[0])


@dataclass
class Movie:
    path: Path
    size: int
    brand: bytes | None
    boxes: list[BoxHeader]
    moov: Box
    timescale: int
    duration: int
    next_track_id: int
    tracks: list[Track]
    meta_keys: dict[str, bytes] = field(default_factory=dict)  # moov/meta (QuickTime style)
    udta_keys: dict[str, bytes] = field(default_factory=dict)  # moov/udta/meta (ffmpeg style)

    @property
    def mdats(self) -> list[BoxHeader]:
        return [box for box in self.boxes if box.type == b"mdat"]

    def video(self) -> Track:
        found = next((track for track in self.tracks if track.is_video), None)
        if found is None:
            raise InvalidInput(
                f"{self.path.name} has no video track", hint="pass a video with a picture"
            )
        return found

    @property
    def duration_s(self) -> float:
        return self.duration / self.timescale if self.timescale else 0.0


def read_movie(path: Path) -> Movie:
    try:
        with path.open("rb") as file:
            return _read(path, file)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", hint=CHECK_PATH) from None


def _read(path: Path, file: BinaryIO) -> Movie:
    size = file.seek(0, 2)
    if size == 0:
        raise CorruptMovie(f"{path.name} is empty", hint="pass a MOV or MP4 video")
    boxes = top_level(file, path.name)
    if any(box.type == b"moof" for box in boxes):
        raise InvalidInput(
            f"{path.name} is a fragmented MP4",
            hint="remux it first: ffmpeg -i IN -c copy OUT.mp4",
        )
    moovs = [box for box in boxes if box.type == b"moov"]
    if not moovs:
        raise CorruptMovie(
            f"{path.name} has no moov box", hint="the file is truncated or not a video"
        )
    file.seek(moovs[0].payload_offset)
    moov = parse_tree(b"moov", file.read(moovs[0].payload_size))
    ftyp = next((box for box in boxes if box.type == b"ftyp"), None)
    brand = None
    if ftyp is not None:
        file.seek(ftyp.payload_offset)
        brand = file.read(4)
    return _movie(path, size, brand, boxes, moov)


def _movie(path: Path, size: int, brand: bytes | None, boxes: list[BoxHeader], moov: Box) -> Movie:
    mvhd = moov.find(b"mvhd")
    if mvhd is None:
        raise CorruptMovie(f"{path.name} has no movie header (mvhd)")
    try:
        timescale, duration = _header_times(mvhd.payload)
        (next_id,) = struct.unpack(">I", mvhd.payload[-4:])
        tracks = [_track(trak) for trak in moov.find_all(b"trak")]
        meta_keys = metadata_keys(moov.find(b"meta"))
        udta_keys = metadata_keys(moov.path(b"udta", b"meta"))
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise CorruptMovie(f"{path.name}: the movie header is malformed ({exc})") from None
    return Movie(
        path=path,
        size=size,
        brand=brand,
        boxes=boxes,
        moov=moov,
        timescale=timescale,
        duration=duration,
        next_track_id=next_id,
        tracks=tracks,
        meta_keys=meta_keys,
        udta_keys=udta_keys,
    )


def _header_times(payload: bytes) -> tuple[int, int]:
    """(timescale, duration) of an mvhd or mdhd, either version."""
    if payload[0] == 1:
        timescale, duration = struct.unpack(">IQ", payload[20:32])
    else:
        timescale, duration = struct.unpack(">II", payload[12:20])
    return int(timescale), int(duration)


def _track(trak: Box) -> Track:
    tkhd = trak.find(b"tkhd")
    mdia = trak.find(b"mdia")
    if tkhd is None or mdia is None:
        raise CorruptMovie("a track has no header (tkhd) or media (mdia)")
    head = tkhd.payload
    wide = head[0] == 1
    track_id = struct.unpack(">I", head[20:24] if wide else head[12:16])[0]
    duration = struct.unpack(">Q", head[28:36])[0] if wide else struct.unpack(">I", head[20:24])[0]
    width, height = (value / 65536 for value in struct.unpack(">II", head[-8:]))
    handler = mdia.find(b"hdlr")
    mdhd = mdia.find(b"mdhd")
    entry = _sample_entry(mdia)
    tref = trak.find(b"tref")
    cdsc = tref.find(b"cdsc") if tref else None
    return Track(
        box=trak,
        track_id=track_id,
        handler=handler.payload[8:12] if handler else b"",
        codec=entry[4:8] if entry else None,
        width=width,
        height=height,
        duration=duration,
        media_timescale=_header_times(mdhd.payload)[0] if mdhd else 0,
        edits=_edits(trak),
        described=[v for (v,) in struct.iter_unpack(">I", cdsc.payload)] if cdsc else [],
        entry_keys=_entry_keys(entry) if entry and entry[4:8] == b"mebx" else [],
    )


def _sample_entry(mdia: Box) -> bytes | None:
    stsd = mdia.path(b"minf", b"stbl", b"stsd")
    if stsd is None or len(stsd.payload) < 16:
        return None
    (size,) = struct.unpack(">I", stsd.payload[8:12])
    return stsd.payload[8 : 8 + size]


def _edits(trak: Box) -> list[tuple[int, int]]:
    elst = trak.path(b"edts", b"elst")
    if elst is None:
        return []
    wide = elst.payload[0] == 1
    (count,) = struct.unpack(">I", elst.payload[4:8])
    shape, step = (">Qq", 20) if wide else (">Ii", 12)
    return [
        struct.unpack(shape, elst.payload[8 + step * n : 8 + step * n + step - 4])
        for n in range(count)
    ]


def _entry_keys(entry: bytes) -> list[str]:
    """The keys a `mebx` sample entry declares: keys -> (local id) -> keyd namespace + name."""
    keys = next((box for box in children(entry, 16) if box.type == b"keys"), None)
    if keys is None:
        return []
    names = []
    for local in children(entry, keys.payload_offset, keys.end):
        for part in children(entry, local.payload_offset, local.end):
            if part.type == b"keyd":
                names.append(entry[part.payload_offset + 4 : part.end].decode("utf-8", "replace"))
    return names


def metadata_keys(meta: Box | None) -> dict[str, bytes]:
    """Key name -> raw value from a `meta` with `keys` + `ilst` (QuickTime or ISO style)."""
    if meta is None:
        return {}
    payload = meta.payload
    start = 0 if payload[4:8] == b"hdlr" else 4  # QuickTime's meta has no version/flags
    inner = {box.type: box for box in children(payload, start)}
    if b"keys" not in inner or b"ilst" not in inner:
        return {}
    keys_box, ilst = inner[b"keys"], inner[b"ilst"]
    names = [
        payload[entry.payload_offset : entry.end].decode("utf-8", "replace")
        for entry in children(payload, keys_box.payload_offset + 8, keys_box.end)
    ]
    values: dict[str, bytes] = {}
    for item in children(payload, ilst.payload_offset, ilst.end):
        (index,) = struct.unpack(">I", item.type)
        data = next((b for b in children(payload, item.payload_offset, item.end)), None)
        if 1 <= index <= len(names) and data is not None and data.type == b"data":
            values[names[index - 1]] = payload[data.payload_offset + 8 : data.end]
    return values


def still_time_s(movie: Movie, track: Track) -> float:
    """When the still-image-time sample shows on the movie timeline (its empty edits)."""
    empty = sum(duration for duration, media_time in track.edits if media_time == -1)
    return empty / movie.timescale if movie.timescale else 0.0
