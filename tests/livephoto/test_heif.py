"""Our HEIC writer: one x265 intra frame in the box tree pillow-heif and the iPhone write,
decoded by libheif about as close to the photo as libheif's own encoding, with the Exif
item tied to the picture."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from liveai.errors import InvalidInput
from liveai.livephoto import make_pair
from liveai.livephoto.boxes import children, parse_tree
from liveai.livephoto.heif import write_heic
from liveai.livephoto.stillread import heic_exif
from liveai.livephoto.tiff import exif_block, read_exif
from tests.livephoto.helpers import make_video

CID = "5F0C2A9E-3B7D-4E11-A2C4-9D8E7F6A5B43"


def photo_like(width: int, height: int) -> Image.Image:
    """Gradients, hard edges and grain: what a photo has and a flat test card lacks."""
    rng = np.random.default_rng(3)
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    pixels = 40 + 150 * x * np.array([1.0, 0.6, 0.2]) + 60 * y * np.array([0.1, 0.5, 1.0])
    pixels[height // 3 : height // 2, width // 4 : width // 2] = (230, 40, 40)
    pixels = pixels + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def psnr(a: Image.Image, b: Image.Image) -> float:
    error = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float(10 * np.log10(255**2 / error))


def boxes_of(data: bytes) -> dict[bytes, bytes]:
    return {box.type: data[box.payload_offset : box.end] for box in children(data)}


def test_the_heic_decodes_close_to_the_photo_with_apples_box_layout() -> None:
    image = photo_like(640, 360)
    target = io.BytesIO()
    write_heic(image, exif_block(CID, 640, 360), target)
    data = target.getvalue()

    decoded = pillow_heif.open_heif(io.BytesIO(data)).to_pillow()
    libheif = io.BytesIO()  # what pillow-heif makes of it at quality 90, its slow preset
    pillow_heif.from_pillow(image).save(libheif, quality=90)
    by_libheif = pillow_heif.open_heif(io.BytesIO(libheif.getvalue())).to_pillow()
    assert decoded.size == (640, 360)
    assert psnr(image, decoded) > psnr(image, by_libheif) - 1.5  # measured: 1.0 below
    top = boxes_of(data)
    assert list(top) == [b"ftyp", b"meta", b"mdat"]
    assert top[b"ftyp"] == b"heic\x00\x00\x00\x00mif1heicmiaf"
    meta = boxes_of(top[b"meta"][4:])
    properties = boxes_of(parse_tree(b"iprp", meta[b"iprp"]).payload[8:])
    assert properties[b"ispe"] == struct.pack(">III", 0, 640, 360)
    assert properties[b"colr"] == b"nclx" + struct.pack(">HHHB", 1, 13, 6, 0x80)
    assert properties[b"pixi"] == bytes.fromhex("0000000003080808")
    hvcc = properties[b"hvcC"]
    assert hvcc[0] == 1 and hvcc[1] & 0x1F == 1  # version 1, Main profile
    assert hvcc[16] & 0x03 == 1 and hvcc[21] & 0x03 == 3  # 4:2:0, 4-byte NAL lengths
    assert [hvcc[23], hvcc[23 + 5 + _length(hvcc, 23)]] == [0x80 | 32, 0x80 | 33]
    assert meta[b"iref"][4:] == struct.pack(">I4sHHH", 14, b"cdsc", 2, 1, 1)
    tiff = heic_exif(data)
    assert tiff is not None and read_exif(tiff).content_id == CID
    assert b"x265" not in data  # no SEI naming the encoder and its settings


def _length(hvcc: bytes, array_at: int) -> int:
    return int(struct.unpack(">H", hvcc[array_at + 3 : array_at + 5])[0])


def test_small_and_odd_sizes(tmp_path: Path) -> None:
    target = io.BytesIO()
    write_heic(photo_like(20, 16), exif_block(CID, 20, 16), target)
    assert pillow_heif.open_heif(io.BytesIO(target.getvalue())).size == (20, 16)

    video = make_video(tmp_path / "v.mp4", width=320, height=240)
    odd = tmp_path / "odd.png"
    photo_like(401, 301).save(odd)
    heic = make_pair(video, odd, tmp_path / "heic", content_id=CID)
    assert (heic.width, heic.height) == (400, 300)  # 4:2:0 needs an even size
    assert pillow_heif.open_heif(heic.still).size == (400, 300)
    jpeg = make_pair(video, odd, tmp_path / "jpeg", still_format="jpeg")
    assert (jpeg.width, jpeg.height) == (401, 301)

    tiny = tmp_path / "tiny.png"
    photo_like(12, 9).save(tiny)
    with pytest.raises(InvalidInput, match="12x9: a HEIC still needs 16 pixels") as refused:
        make_pair(video, tiny, tmp_path / "tiny")
    assert refused.value.hint and "--format jpeg" in refused.value.hint
    assert list((tmp_path / "tiny").glob("*")) == []


def test_a_failing_still_leaves_neither_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The still is encoded beside the MOV copy; either failing leaves nothing in --out."""
    video = make_video(tmp_path / "v.mp4")

    def broken(*_args: object) -> None:
        raise InvalidInput("the encoder gave up")

    monkeypatch.setattr("liveai.livephoto.still.write_heic", broken)
    with pytest.raises(InvalidInput, match="gave up"):
        make_pair(video, None, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
