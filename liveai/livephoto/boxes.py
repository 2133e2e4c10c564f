"""QuickTime / ISO-BMFF boxes: walk them in a file or in memory, and build new ones.

A box is `size(u32) type(4cc) [largesize(u64) when size == 1] payload`; size 0 means "to the
end of the enclosing space". Top-level boxes are walked by seeking, so `mdat` is never read.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from liveai.errors import InvalidInput

# Boxes whose payload is only other boxes (the ones the pair maker and inspector descend into).
CONTAINERS = frozenset(
    {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"tref", b"gmhd"}
)
COPY_CHUNK = 1 << 20


class CorruptMovie(InvalidInput):
    """A MOV/MP4 whose boxes do not add up (truncated, sizes past the end, no moov)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "the file is truncated or not a MOV/MP4")


@dataclass(frozen=True)
class BoxHeader:
    type: bytes
    offset: int  # of the header
    header_size: int
    size: int  # header + payload

    @property
    def payload_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def payload_size(self) -> int:
        return self.size - self.header_size

    @property
    def end(self) -> int:
        return self.offset + self.size


def _header(head: bytes, offset: int, limit: int, where: str) -> BoxHeader:
    if len(head) < 8:
        raise CorruptMovie(f"{where}: truncated box header at byte {offset}")
    size, kind = struct.unpack(">I4s", head[:8])
    header_size = 8
    if size == 1:
        if len(head) < 16:
            raise CorruptMovie(f"{where}: truncated 64-bit box header at byte {offset}")
        size = struct.unpack(">Q", head[8:16])[0]
        header_size = 16
    elif size == 0:
        size = limit - offset
    if size < header_size or offset + size > limit:
        raise CorruptMovie(
            f"{where}: box {kind.decode('latin-1')!r} at byte {offset} claims {size} bytes, "
            f"past the end ({limit})"
        )
    return BoxHeader(kind, offset, header_size, size)


def top_level(file: BinaryIO, where: str) -> list[BoxHeader]:
    """The top-level boxes of a file, by seeking from header to header."""
    end = file.seek(0, os.SEEK_END)
    boxes: list[BoxHeader] = []
    offset = 0
    while offset < end:
        file.seek(offset)
        box = _header(file.read(16), offset, end, where)
        boxes.append(box)
        offset = box.end
    return boxes


def children(data: bytes, start: int = 0, end: int | None = None) -> Iterator[BoxHeader]:
    """The boxes laid end to end in `data[start:end]` (offsets are positions in `data`)."""
    limit = len(data) if end is None else end
    offset = start
    while offset + 8 <= limit:
        box = _header(data[offset : offset + 16], offset, limit, "movie header")
        yield box
        offset = box.end


@dataclass
class Box:
    """A parsed box: containers hold children, every other box keeps its payload bytes."""

    type: bytes
    payload: bytes = b""
    kids: list[Box] = field(default_factory=list)

    @property
    def is_container(self) -> bool:
        return self.type in CONTAINERS

    def find(self, kind: bytes) -> Box | None:
        return next((kid for kid in self.kids if kid.type == kind), None)

    def find_all(self, kind: bytes) -> list[Box]:
        return [kid for kid in self.kids if kid.type == kind]

    def path(self, *kinds: bytes) -> Box | None:
        node: Box | None = self
        for kind in kinds:
            node = node.find(kind) if node is not None else None
        return node

    def encode(self) -> bytes:
        if self.is_container:
            return make_box(self.type, b"".join(kid.encode() for kid in self.kids))
        return make_box(self.type, self.payload)


def parse_tree(kind: bytes, payload: bytes) -> Box:
    node = Box(kind)
    if kind not in CONTAINERS:
        node.payload = payload
        return node
    for child in children(payload):
        node.kids.append(parse_tree(child.type, payload[child.payload_offset : child.end]))
    return node


def make_box(kind: bytes, payload: bytes) -> bytes:
    size = 8 + len(payload)
    if size > 0xFFFFFFFF:
        return struct.pack(">I4sQ", 1, kind, size + 8) + payload
    return struct.pack(">I4s", size, kind) + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return make_box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def copy_range(source: BinaryIO, target: BinaryIO, offset: int, length: int) -> None:
    """Append `length` bytes of `source` from `offset` to `target`, never holding them all.

    The kernel copies file to file where it can; otherwise 1 MiB pieces go through memory.
    """
    target.flush()
    done = _copy_in_kernel(source.fileno(), target.fileno(), offset, length)
    target.seek(0, os.SEEK_END)
    source.seek(offset + done)
    left = length - done
    while left > 0:
        piece = source.read(min(COPY_CHUNK, left))
        if not piece:
            raise CorruptMovie(f"the input ended {left} bytes early")
        target.write(piece)
        left -= len(piece)


def _copy_in_kernel(source: int, target: int, offset: int, length: int) -> int:
    """How many bytes the kernel copied (0 when it cannot copy between these files)."""
    position = os.lseek(target, 0, os.SEEK_END)
    done = 0
    while done < length:
        try:
            sent = os.copy_file_range(source, target, length - done, offset + done, position + done)
        except OSError:
            return done
        if sent == 0:
            return done
        done += sent
    return done
