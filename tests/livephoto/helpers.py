"""Test media for Live Photo tests: small videos from PyAV, photos from Pillow, and an
independent rewrite of a movie into 64-bit box sizes with co64 chunk offsets."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import cast

import pytest
from PIL import Image

REQUIRE_TOOLS = os.environ.get("CI", "") not in ("", "0", "false")


def tool(name: str) -> str:
    """The path of a command-line tool; skip without it locally, fail without it in CI."""
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (Debian: libimage-exiftool-perl / ffmpeg)"
        if REQUIRE_TOOLS:
            pytest.fail(f"{reason}; CI is set, so the tool is required")
        pytest.skip(reason)
    return found


def run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def make_video(
    path: Path,
    *,
    codec: str = "libx264",
    container: str = "mp4",
    width: int = 320,
    height: int = 240,
    frames: int = 30,
    faststart: bool = False,
    tag: str | None = None,
) -> Path:
    """A `frames`-long 30 fps clip whose frame n has red level 8n (frame 0 is black)."""
    import av
    import numpy as np

    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=container, options=options) as output:
        stream = cast(av.VideoStream, output.add_stream(codec, rate=30))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx265":
            stream.options = {"x265-params": "log-level=error"}
        if tag:
            stream.codec_tag = tag
        for n in range(frames):
            pixels = np.zeros((height, width, 3), np.uint8)
            pixels[:, :, 0] = min(255, 8 * n)
            pixels[height // 4 : height // 2, :, 1] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def make_photo(path: Path, width: int = 400, height: int = 300, fmt: str = "JPEG") -> Path:
    image = Image.new("RGB", (width, height), (30, 90, 200))
    image.paste((250, 250, 0), (0, 0, width // 2, height // 2))
    image.save(path, fmt)
    return path


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    found = []
    while start < end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[start + 8 : start + 16])[0], 16
        found.append((kind, start + header, start + size))
        start += size
    return found


def _with_co64(moov: bytes, shift: int) -> bytes:
    """moov (a whole box) with every stco turned into co64, offsets moved by `shift`."""
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}

    def rebuild(kind: bytes, payload: bytes) -> bytes:
        if kind in containers:
            inner = b"".join(rebuild(k, payload[s:e]) for k, s, e in boxes(payload))
            return struct.pack(">I4s", 8 + len(inner), kind) + inner
        if kind == b"stco":
            (count,) = struct.unpack(">I", payload[4:8])
            offsets = struct.unpack(f">{count}I", payload[8 : 8 + 4 * count])
            table = struct.pack(f">I{count}Q", count, *(o + shift for o in offsets))
            return struct.pack(">I4s", 12 + len(table), b"co64") + payload[:4] + table
        return struct.pack(">I4s", 8 + len(payload), kind) + payload

    (kind, start, end) = boxes(moov)[0]
    return rebuild(kind, moov[start:end])


def wide_boxes_copy(source: Path, target: Path) -> Path:
    """The same movie with a 64-bit (size == 1) mdat header and co64 chunk offsets."""
    data = source.read_bytes()
    top = boxes(data)
    assert top[-1][0] == b"moov", "expects moov at the end"
    out = b""
    shift = 0
    at = 0
    for kind, start, end in top:
        if kind == b"mdat":
            shift = 16 - (start - at)  # the header grows from 8 to 16 bytes
            out += struct.pack(">I4sQ", 1, b"mdat", 16 + end - start) + data[start:end]
        elif kind == b"moov":
            out += _with_co64(data[at:end], shift)
        else:
            out += data[at:end]
        at = end
    target.write_bytes(out)
    return target
