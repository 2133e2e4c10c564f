"""Live Photo pairs, read back by our own parser on every input shape."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path
from typing import cast

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from liveai.errors import InvalidInput
from liveai.livephoto import inspect, make_pair
from liveai.livephoto.movread import STILL_IMAGE_TIME, read_movie, still_time_s
from liveai.livephoto.stillread import heic_exif, jpeg_exif
from liveai.livephoto.tiff import exif_block, read_exif
from tests.livephoto.helpers import boxes, make_photo, make_video, wide_boxes_copy

CID = "CEEE58DF-95FE-4D41-8B9A-F0AF1103A2DC"
# The MakerNote as documented: signature, version 1, "MM", one entry 0x0011 ASCII[37] at 32.
MAKER_NOTE = (
    b"Apple iOS\x00\x00\x01MM\x00\x01\x00\x11\x00\x02\x00\x00\x00\x25\x00\x00\x00\x20"
    + b"\x00\x00\x00\x00"
    + CID.encode()
    + b"\x00\x00"
)


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def _shape(tmp_path: Path, shape: str) -> Path:
    if shape == "mp4-moov-last":
        return make_video(tmp_path / "in.mp4")
    if shape == "mp4-moov-first":
        return make_video(tmp_path / "in.mp4", faststart=True)
    if shape == "mov-moov-last":
        return make_video(tmp_path / "in.mov", container="mov")
    if shape == "mov-moov-first":
        return make_video(tmp_path / "in.mov", container="mov", faststart=True)
    if shape == "co64-64bit-mdat":
        return wide_boxes_copy(
            make_video(tmp_path / "plain.mov", container="mov"), tmp_path / "w.mov"
        )
    if shape == "hevc-hev1":
        return make_video(tmp_path / "in.mp4", codec="libx265")
    if shape == "hevc-hvc1":
        return make_video(tmp_path / "in.mov", codec="libx265", container="mov", tag="hvc1")
    raise AssertionError(shape)


SHAPES = [
    "mp4-moov-last",
    "mp4-moov-first",
    "mov-moov-last",
    "mov-moov-first",
    "co64-64bit-mdat",
    "hevc-hev1",
    "hevc-hvc1",
]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_input_shape_gives_the_same_pairable_mov(tmp_path: Path, shape: str) -> None:
    source = _shape(tmp_path, shape)
    if shape == "co64-64bit-mdat":
        data = source.read_bytes()
        (mdat_at,) = [start for kind, start, _ in boxes(data) if kind == b"mdat"]
        assert struct.unpack(">I4s", data[mdat_at - 16 : mdat_at - 8]) == (1, b"mdat")
        assert b"co64" in data and b"stco" not in data
    if shape == "hevc-hev1":
        assert b"hev1" in source.read_bytes()
    photo = make_photo(tmp_path / "p.jpg")
    pair = make_pair(
        source, photo, tmp_path / "out", stem="IMG_0001", still_time=0.5, content_id=CID
    )

    assert pair.video == tmp_path / "out" / "IMG_0001.MOV"
    assert pair.still == tmp_path / "out" / "IMG_0001.HEIC"
    data = pair.video.read_bytes()
    assert [kind for kind, _, _ in boxes(data)] == [b"ftyp", b"wide", b"mdat", b"mdat", b"moov"]
    assert data[8:12] == b"qt  "

    movie = read_movie(pair.video)
    assert movie.meta_keys == {"com.apple.quicktime.content.identifier": CID.encode()}
    meta = movie.moov.find(b"meta")
    assert meta is not None and meta.payload[4:8] == b"hdlr"  # QuickTime style: no version
    video = movie.video()
    assert video.codec == (b"hvc1" if shape.startswith("hevc") else b"avc1")
    (mebx,) = [track for track in movie.tracks if track.codec == b"mebx"]
    assert mebx.entry_keys == [STILL_IMAGE_TIME]
    assert mebx.described == [video.track_id]
    given = read_movie(source).next_track_id
    assert (mebx.track_id, movie.next_track_id) == (given, given + 1)
    assert still_time_s(movie, mebx) == pytest.approx(0.5)
    (offset,) = mebx.chunk_offsets()
    assert data[offset : offset + 9] == bytes.fromhex("0000000900000001ff")
    mdats = [(start, end) for kind, start, end in boxes(data) if kind == b"mdat"]
    assert all(any(s <= o < e for s, e in mdats) for o in video.chunk_offsets())
    assert _packets(pair.video) == _packets(source)  # stream copy: every packet unchanged


def test_the_still_carries_apples_maker_note_typed_undefined(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4")
    photo = make_photo(tmp_path / "p.jpg")
    for fmt in ("jpeg", "heic"):
        pair = make_pair(video, photo, tmp_path / fmt, still_format=fmt, content_id=CID.lower())
        data = pair.still.read_bytes()
        assert pair.content_id == CID
        assert data.count(b"Apple iOS\x00") == 1
        at = data.index(b"Apple iOS\x00")
        assert data[at : at + 70] == MAKER_NOTE
        tiff = jpeg_exif(data) if fmt == "jpeg" else heic_exif(data)
        assert tiff is not None and tiff[:4] == b"MM\x00\x2a"
        found = read_exif(tiff)
        assert (found.maker_note_type, found.content_id) == (7, CID)
        assert b"GPS" not in data and b"http://ns.adobe.com/xap" not in data
        with Image.open(pair.still) as image:
            assert image.size == (400, 300)
    heic = (tmp_path / "heic" / "v.HEIC").read_bytes()
    assert bytes.fromhex("00000010") + b"pixi" + bytes.fromhex("0000000003080808") in heic


def test_the_still_is_cropped_to_the_videos_aspect(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", width=320, height=240)
    square = make_photo(tmp_path / "p.png", 600, 600, "PNG")
    pair = make_pair(video, square, tmp_path / "out", still_format="jpeg")
    with Image.open(pair.still) as image:
        assert image.size == (600, 450)
        assert image.getpixel((10, 10)) != image.getpixel((590, 440))
    assert inspect([pair.still, pair.video]).ok


def test_without_a_still_the_frame_at_the_still_time_is_used(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", frames=30)
    pair = make_pair(video, None, tmp_path / "out", still_format="jpeg", still_time=0.5)
    with Image.open(pair.still) as image:
        red = cast(tuple[int, ...], image.getpixel((5, image.size[1] - 5)))[0]
    assert abs(red - 8 * 15) <= 12  # frame 15 of 30 at 30 fps
    assert pair.still_time_s == pytest.approx(0.5)


def test_a_still_time_past_the_end_is_refused(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", frames=15)
    with pytest.raises(InvalidInput, match="outside the video"):
        make_pair(video, None, tmp_path / "out", still_time=2.0)
    assert not (tmp_path / "out").exists()


def _little_endian_exif(note: bytes) -> bytes:
    """An II (little-endian) TIFF: IFD0 with an Exif pointer, Exif IFD with the MakerNote."""
    exif_at = 8 + 2 + 12 + 4
    note_at = exif_at + 2 + 12 + 4
    return (
        b"II*\x00"
        + struct.pack("<I", 8)
        + struct.pack("<HHHII", 1, 0x8769, 4, 1, exif_at)
        + struct.pack("<I", 0)
        + struct.pack("<HHHII", 1, 0x927C, 7, len(note), note_at)
        + struct.pack("<I", 0)
        + note
    )


def test_an_iphone_like_maker_note_with_many_entries_reads_back() -> None:
    # As iPhones write it: big-endian MakerNote IFD with other tags around 0x0011, offsets
    # counted from the MakerNote's first byte, inside a TIFF of the other byte order.
    text = CID.encode() + b"\x00"
    entries = [
        struct.pack(">HHII", 0x0001, 9, 1, 16),
        struct.pack(">HHII", 0x0011, 2, len(text), 14 + 2 + 12 * 3 + 4),
        struct.pack(">HHII", 0x0014, 9, 1, 12),
    ]
    note = b"Apple iOS\x00\x00\x01MM" + struct.pack(">H", 3) + b"".join(entries)
    note += struct.pack(">I", 0) + text
    found = read_exif(_little_endian_exif(note))
    assert (found.maker_note_type, found.is_apple, found.content_id) == (7, True, CID)
    other = read_exif(_little_endian_exif(b"Nikon\x00" + bytes(20)))
    assert (other.is_apple, other.content_id) == (False, None)


def test_a_content_id_pointing_past_the_maker_note_reads_as_none() -> None:
    # Found by the damaged-still property below: the identifier's offset, not the note's.
    text = CID.encode() + b"\x00"
    entry = struct.pack(">HHII", 0x0011, 2, len(text), 0xFFFF)
    note = b"Apple iOS\x00\x00\x01MM" + struct.pack(">H", 1) + entry + struct.pack(">I", 0)
    found = read_exif(_little_endian_exif(note + text))
    assert (found.is_apple, found.content_id) == (True, None)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_damaged_movie_header_is_refused_cleanly_or_still_pairs(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Bytes of moov overwritten anywhere: make_pair and inspect either work or raise
    InvalidInput (exit 2); nothing else escapes, and nothing half-written is left."""
    root = tmp_path_factory.mktemp("damaged")
    source = make_video(root / "in.mov", container="mov", frames=6)
    raw = bytearray(source.read_bytes())
    moov = raw.index(b"moov") - 4
    at = data.draw(st.integers(moov + 8, len(raw) - 1))
    raw[at : at + 4] = data.draw(st.binary(min_size=1, max_size=4))
    source.write_bytes(bytes(raw))
    out = root / "out"
    try:
        pair = make_pair(source, make_photo(root / "p.jpg"), out, still_format="jpeg")
    except InvalidInput:
        assert not out.exists() or list(out.iterdir()) == []
        return
    with contextlib.suppress(InvalidInput):
        inspect([pair.still, pair.video])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_damaged_still_is_described_or_refused_cleanly(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    root = tmp_path_factory.mktemp("still")
    pair = make_pair(make_video(root / "v.mp4", frames=3), None, root / "out")
    raw = bytearray(pair.still.read_bytes())
    at = data.draw(st.integers(0, min(len(raw), 2000) - 1))
    raw[at : at + 4] = data.draw(st.binary(min_size=1, max_size=4))
    pair.still.write_bytes(bytes(raw))
    with contextlib.suppress(InvalidInput):
        inspect([pair.still, pair.video])


def test_the_photos_own_metadata_stays_behind(tmp_path: Path) -> None:
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (31.0, 14.0, 5.0)  # GPSLatitude
    photo = tmp_path / "gps.jpg"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (400, 300), "teal").save(
        photo, exif=exif.tobytes(), icc_profile=icc, comment=b"secret note"
    )
    video = make_video(tmp_path / "v.mp4")
    for fmt in ("jpeg", "heic"):
        data = make_pair(video, photo, tmp_path / fmt, still_format=fmt).still.read_bytes()
        assert b"PhoneMaker" not in data and b"secret note" not in data
        assert b"acsp" not in data  # the ICC profile's signature
        tiff = jpeg_exif(data) if fmt == "jpeg" else heic_exif(data)
        assert tiff is not None and b"\x88\x25" not in tiff  # no GPS IFD pointer


def test_a_maker_note_pointing_past_the_end_reads_as_no_identifier() -> None:
    """Found by the damaged-still property test: the note's offset past the TIFF block
    raised out of read_exif (a traceback from `inspect`) instead of reading as no note."""
    tiff = exif_block(CID, 4, 3)[6:]
    cut = tiff[: tiff.index(b"Apple iOS\x00") - 1]
    found = read_exif(cut)
    assert (found.maker_note_type, found.is_apple, found.content_id) == (7, False, None)
