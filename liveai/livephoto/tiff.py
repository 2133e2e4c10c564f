"""The still's EXIF: a small big-endian TIFF whose Exif IFD carries Apple's MakerNote.

Photos pairs a still with its video by the MakerNote's tag 0x0011 (the content identifier),
which must sit in EXIF tag 0x927C typed UNDEFINED. The MakerNote is position-independent:
its IFD starts 14 bytes in and its offsets count from its own first byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 2, 3, 4, 5, 7
BYTE = 1
EXIF_IFD = 0x8769
MAKER_NOTE = 0x927C
CONTENT_ID_TAG = 0x0011
APPLE_SIGNATURE = b"Apple iOS\x00"
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}


@dataclass(frozen=True)
class Entry:
    tag: int
    type: int
    count: int
    value: bytes  # already in the TIFF's byte order


def _short(value: int) -> Entry:
    return Entry(0, SHORT, 1, struct.pack(">H", value))


def apple_maker_note(content_id: str) -> bytes:
    """Apple's MakerNote with one entry: 0x0011 ASCII content identifier (70 bytes for a UUID)."""
    text = content_id.encode("ascii") + b"\x00"
    value_offset = 14 + 2 + 12 + 4
    note = (
        APPLE_SIGNATURE
        + struct.pack(">H2sH", 1, b"MM", 1)
        + struct.pack(">HHII", CONTENT_ID_TAG, ASCII, len(text), value_offset)
        + struct.pack(">I", 0)
        + text
    )
    return note + b"\x00" * (len(note) % 2)


def _ifd(entries: list[Entry], start: int) -> tuple[bytes, bytes]:
    """One IFD at `start` (TIFF offset) and its out-of-line values, word-aligned after it."""
    ordered = sorted(entries, key=lambda entry: entry.tag)
    data_at = start + 2 + 12 * len(ordered) + 4
    table = struct.pack(">H", len(ordered))
    data = b""
    for entry in ordered:
        if len(entry.value) <= 4:
            inline = entry.value.ljust(4, b"\x00")
        else:
            inline = struct.pack(">I", data_at + len(data))
            data += entry.value + b"\x00" * (len(entry.value) % 2)
        table += struct.pack(">HHI", entry.tag, entry.type, entry.count) + inline
    return table + struct.pack(">I", 0), data


def exif_block(content_id: str, width: int, height: int) -> bytes:
    """`Exif\\0\\0` + TIFF: upright orientation, the image size, and Apple's MakerNote.

    The other tags are the ones exiftool's validator expects of a JPEG's EXIF.
    """
    note = apple_maker_note(content_id)
    ifd0 = [
        Entry(0x0112, SHORT, 1, _short(1).value),  # upright pixels
        Entry(0x011A, RATIONAL, 1, struct.pack(">II", 72, 1)),
        Entry(0x011B, RATIONAL, 1, struct.pack(">II", 72, 1)),
        Entry(0x0128, SHORT, 1, _short(2).value),
        Entry(0x0213, SHORT, 1, _short(1).value),
        Entry(EXIF_IFD, LONG, 1, b"\x00\x00\x00\x00"),  # patched below
    ]
    exif = [
        Entry(0x9000, UNDEFINED, 4, b"0232"),
        Entry(0x9101, UNDEFINED, 4, b"\x01\x02\x03\x00"),
        Entry(MAKER_NOTE, UNDEFINED, len(note), note),
        Entry(0xA000, UNDEFINED, 4, b"0100"),  # FlashpixVersion, which exiftool expects in a JPEG
        Entry(0xA001, SHORT, 1, _short(1).value),
        Entry(0xA002, LONG, 1, struct.pack(">I", width)),
        Entry(0xA003, LONG, 1, struct.pack(">I", height)),
    ]
    table0, data0 = _ifd(ifd0, 8)
    exif_at = 8 + len(table0) + len(data0)
    ifd0[-1] = Entry(EXIF_IFD, LONG, 1, struct.pack(">I", exif_at))
    table0, data0 = _ifd(ifd0, 8)
    table1, data1 = _ifd(exif, exif_at)
    return b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + table0 + data0 + table1 + data1


@dataclass(frozen=True)
class MakerNoteFound:
    """What the still's EXIF says about pairing."""

    maker_note_type: int | None  # the EXIF type of 0x927C; None when there is no MakerNote
    is_apple: bool
    content_id: str | None


def read_exif(tiff: bytes) -> MakerNoteFound:
    """Follow IFD0 -> Exif IFD -> MakerNote -> Apple tag 0x0011 in a TIFF block (II or MM)."""
    try:
        order = _byte_order(tiff[:2])
        ifd0 = _entries(tiff, struct.unpack(order + "I", tiff[4:8])[0], order)
        exif_pointer = ifd0.get(EXIF_IFD)
        if exif_pointer is None:
            return MakerNoteFound(None, False, None)
        exif_at = struct.unpack(order + "I", exif_pointer[2][:4])[0]
        note_entry = _entries(tiff, exif_at, order).get(MAKER_NOTE)
    except (struct.error, ValueError):
        return MakerNoteFound(None, False, None)
    if note_entry is None:
        return MakerNoteFound(None, False, None)
    note_type, count, raw = note_entry
    size = count * _SIZES.get(note_type, 1)
    try:
        note = raw if size <= 4 else _slice(tiff, struct.unpack(order + "I", raw[:4])[0], size)
    except ValueError:
        return MakerNoteFound(note_type, False, None)
    if not note.startswith(APPLE_SIGNATURE):
        return MakerNoteFound(note_type, False, None)
    return MakerNoteFound(note_type, True, _apple_content_id(note))


def _apple_content_id(note: bytes) -> str | None:
    try:
        order = _byte_order(note[12:14])
        tags = _entries(note, 14, order)
    except (struct.error, ValueError):
        return None
    found = tags.get(CONTENT_ID_TAG)
    if found is None or found[0] != ASCII:
        return None
    _, count, raw = found
    if count <= 4:
        text = raw[:count]
    else:
        try:
            text = _slice(note, struct.unpack(order + "I", raw)[0], count)
        except ValueError:
            return None
    return text.split(b"\x00", 1)[0].decode("ascii", "replace")


def _byte_order(mark: bytes) -> str:
    if mark == b"MM":
        return ">"
    if mark == b"II":
        return "<"
    raise ValueError("not a TIFF byte order")


def _entries(data: bytes, at: int, order: str) -> dict[int, tuple[int, int, bytes]]:
    (count,) = struct.unpack(order + "H", _slice(data, at, 2))
    found = {}
    for index in range(count):
        tag, kind, number, raw = struct.unpack(
            order + "HHI4s", _slice(data, at + 2 + 12 * index, 12)
        )
        found[tag] = (kind, number, raw)
    return found


def _slice(data: bytes, at: int, size: int) -> bytes:
    if at < 0 or at + size > len(data):
        raise ValueError("offset past the end")
    return data[at : at + size]
