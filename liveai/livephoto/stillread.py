"""Find the EXIF TIFF block in a JPEG (APP1) or a HEIC (the `Exif` item via `iinf`/`iloc`)."""

from __future__ import annotations

import struct

from liveai.livephoto.boxes import children

JPEG_SOI = b"\xff\xd8"


def kind_of(head: bytes) -> str | None:
    if head.startswith(JPEG_SOI):
        return "jpeg"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"heim", b"heis"):
        return "heic"
    return None


def jpeg_exif(data: bytes) -> bytes | None:
    """The TIFF block of the first `Exif\\0\\0` APP1 segment, walking markers up to the scan."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan
            return None
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        segment = data[at + 4 : at + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            return segment[6:]
        at += 2 + length
    return None


def heic_exif(data: bytes) -> bytes | None:
    """The TIFF block of the HEIF `Exif` item (its payload starts with a 4-byte header offset)."""
    meta = next((box for box in children(data) if box.type == b"meta"), None)
    if meta is None:
        return None
    inner = {box.type: box for box in children(data, meta.payload_offset + 4, meta.end)}
    if b"iinf" not in inner or b"iloc" not in inner:
        return None
    iinf, iloc = inner[b"iinf"], inner[b"iloc"]
    item = _exif_item(data[iinf.payload_offset : iinf.end])
    if item is None:
        return None
    extents = _locations(data[iloc.payload_offset : iloc.end]).get(item)
    if not extents:
        return None
    payload = b"".join(data[start : start + length] for start, length in extents)
    if len(payload) < 4:
        return None
    (skip,) = struct.unpack(">I", payload[:4])
    return payload[4 + skip :]


def _exif_item(iinf: bytes) -> int | None:
    version = iinf[0]
    start = 6 if version == 0 else 8
    for entry in children(iinf, start):
        if entry.type != b"infe":
            continue
        body = iinf[entry.payload_offset : entry.end]
        if body[0] == 2 and body[8:12] == b"Exif":
            return int(struct.unpack(">H", body[4:6])[0])
        if body[0] == 3 and body[10:14] == b"Exif":
            return int(struct.unpack(">I", body[4:8])[0])
    return None


def _locations(iloc: bytes) -> dict[int, list[tuple[int, int]]]:
    """Item id -> (absolute offset, length) extents, for file-stored items (method 0)."""
    version = iloc[0]
    offset_size, length_size = iloc[4] >> 4, iloc[4] & 15
    base_size, index_size = iloc[5] >> 4, (iloc[5] & 15 if version in (1, 2) else 0)
    at = 6
    count, at = _uint(iloc, at, 2 if version < 2 else 4)
    found: dict[int, list[tuple[int, int]]] = {}
    for _ in range(count):
        item, at = _uint(iloc, at, 2 if version < 2 else 4)
        method = 0
        if version in (1, 2):
            method, at = _uint(iloc, at, 2)
            method &= 15
        at += 2  # data_reference_index
        base, at = _uint(iloc, at, base_size)
        extent_count, at = _uint(iloc, at, 2)
        extents = []
        for _ in range(extent_count):
            at += index_size
            offset, at = _uint(iloc, at, offset_size)
            length, at = _uint(iloc, at, length_size)
            extents.append((base + offset, length))
        if method == 0:
            found[item] = extents
    return found


def _uint(data: bytes, at: int, size: int) -> tuple[int, int]:
    if size == 0:
        return 0, at
    return int.from_bytes(data[at : at + size], "big"), at + size
