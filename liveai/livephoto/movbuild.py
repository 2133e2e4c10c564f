"""The boxes a Live Photo MOV adds: `moov/meta` with the content identifier, and the
timed-metadata track whose one sample marks the still's time (Apple's `mebx` layout)."""

from __future__ import annotations

import struct

from liveai.livephoto.boxes import full_box, make_box
from liveai.livephoto.movread import CONTENT_ID_KEY, STILL_IMAGE_TIME

# The sample: a box whose type is local key 1, holding int8 -1 (readers ignore the value).
STILL_SAMPLE = struct.pack(">II", 9, 1) + b"\xff"
_IDENTITY = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_UNDETERMINED = 0x55C4
_UTF8 = 1
_INT8 = 65


def movie_meta(content_id: str) -> bytes:
    """QuickTime-style `meta` (a plain box, no version/flags) with one `mdta` key."""
    handler = full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, b"mdta") + bytes(12) + bytes(2))
    keys = full_box(
        b"keys", 0, 0, struct.pack(">I", 1) + make_box(b"mdta", CONTENT_ID_KEY.encode())
    )
    value = make_box(b"data", struct.pack(">II", _UTF8, 0) + content_id.encode("utf-8"))
    items = make_box(b"ilst", make_box(struct.pack(">I", 1), value))
    return make_box(b"meta", handler + keys + items)


def still_time_track(
    track_id: int, video_id: int, timescale: int, at: int, sample_offset: int
) -> bytes:
    """The `trak` whose one 1-tick sample sits at movie time `at` (an empty edit before it)."""
    header = full_box(
        b"tkhd",
        0,
        0x0F,
        struct.pack(">IIIII", 0, 0, track_id, 0, at + 1)
        + bytes(16)  # reserved, layer, alternate group, volume, reserved
        + _IDENTITY
        + struct.pack(">II", 0, 0),  # no picture: width and height 0
    )
    edits = [(at, -1), (1, 0)] if at > 0 else [(1, 0)]
    elst = full_box(
        b"elst",
        0,
        0,
        struct.pack(">I", len(edits))
        + b"".join(struct.pack(">IiI", length, start, 0x10000) for length, start in edits),
    )
    tref = make_box(b"tref", make_box(b"cdsc", struct.pack(">I", video_id)))
    media = make_box(b"mdia", _media_header(timescale) + _handler() + _media_info(sample_offset))
    return make_box(b"trak", header + make_box(b"edts", elst) + tref + media)


def _media_header(timescale: int) -> bytes:
    return full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 1, _UNDETERMINED, 0))


def _handler() -> bytes:
    name = b"Core Media Metadata"
    return full_box(
        b"hdlr",
        0,
        0,
        b"mhlr" + b"meta" + b"appl" + struct.pack(">II", 1, 0) + bytes([len(name)]) + name,
    )


def _media_info(sample_offset: int) -> bytes:
    graphics = make_box(
        b"gmhd", full_box(b"gmin", 0, 0, struct.pack(">HHHHhH", 0x40, *[0x8000] * 3, 0, 0))
    )
    name = b"Core Media Data Handler"
    data_handler = full_box(
        b"hdlr",
        0,
        0,
        b"dhlr" + b"alis" + b"appl" + struct.pack(">II", 0, 0) + bytes([len(name)]) + name,
    )
    references = make_box(
        b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1) + full_box(b"alis", 0, 1, b""))
    )
    return make_box(b"minf", graphics + data_handler + references + _sample_table(sample_offset))


def _sample_table(sample_offset: int) -> bytes:
    key = make_box(b"keyd", b"mdta" + STILL_IMAGE_TIME.encode()) + make_box(
        b"dtyp", struct.pack(">II", 0, _INT8)
    )
    entry = make_box(
        b"mebx",
        bytes(6) + struct.pack(">H", 1) + make_box(b"keys", make_box(struct.pack(">I", 1), key)),
    )
    if sample_offset > 0xFFFFFFFF:
        offsets = full_box(b"co64", 0, 0, struct.pack(">IQ", 1, sample_offset))
    else:
        offsets = full_box(b"stco", 0, 0, struct.pack(">II", 1, sample_offset))
    return make_box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1) + entry)
        + full_box(b"stts", 0, 0, struct.pack(">III", 1, 1, 1))
        + full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1))
        + full_box(b"stsz", 0, 0, struct.pack(">II", len(STILL_SAMPLE), 1))
        + offsets,
    )
