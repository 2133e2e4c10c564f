"""Photo intake on real files made here: JPEG, PNG, HEIC, and every way a photo can be wrong."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms

from liveai.errors import ExitCode, InvalidInput
from liveai.images import (
    AnimatedImage,
    BadAspectRatio,
    CorruptImage,
    DecompressionBomb,
    EmptyImage,
    ImageFileTooLarge,
    ImageTooSmall,
    IntakeLimits,
    InvalidImage,
    UnsupportedImageType,
    detect_type,
    prepare_image,
)
from liveai.settings import load_settings
from tests.conftest import Cli

LIMITS = IntakeLimits()
RED = (255, 0, 0)
BLUE = (0, 0, 255)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def photo(size: tuple[int, int] = (800, 600), color: tuple[int, int, int] = RED) -> Image.Image:
    return Image.new("RGB", size, color)


def two_halves(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: shows which way an image was turned."""
    image = photo(size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15 Pro"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (31.0, 14.0, 9.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (121.0, 28.0, 3.25),
    }
    return exif


XMP_WITH_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="31,14.158N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def jpeg_segments(data: bytes) -> list[int]:
    """The marker of every JPEG segment before the image data."""
    markers, pos = [], 2
    while pos < len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the header is over
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return markers


def assert_no_metadata(jpeg: bytes) -> None:
    with Image.open(io.BytesIO(jpeg)) as out:
        assert out.format == "JPEG"
        assert dict(out.getexif()) == {}
        assert "icc_profile" not in out.info
        assert "xmp" not in out.info
    app_segments = [m for m in jpeg_segments(jpeg) if 0xE1 <= m <= 0xEF or m == 0xFE]
    assert app_segments == []  # no EXIF, XMP, ICC, Photoshop or comment segment at all
    assert b"GPS" not in jpeg
    assert b"iPhone" not in jpeg


def decoded(jpeg: bytes) -> Image.Image:
    with Image.open(io.BytesIO(jpeg)) as out:
        return out.convert("RGB")


def close_to(pixel: object, expected: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= 12 for a, b in zip(pixel, expected, strict=True))


# --- accepted photos ---


def test_gps_and_every_other_metadata_is_stripped() -> None:
    source = encode(photo(), "JPEG", exif=gps_exif(), xmp=XMP_WITH_GPS, comment=b"at home")
    with Image.open(io.BytesIO(source)) as original:  # the test file really carries GPS
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"GPSLatitude" in source

    prepared = prepare_image(source, LIMITS)

    assert prepared.source_type == "jpeg"
    assert (prepared.width, prepared.height) == (800, 600)
    assert_no_metadata(prepared.jpeg)


@pytest.mark.parametrize(
    ("orientation", "size", "top_left", "bottom_right"),
    [
        (1, (600, 400), RED, BLUE),  # as stored
        (6, (400, 600), RED, BLUE),  # turned 90° clockwise: the left half ends on top
        (8, (400, 600), BLUE, RED),  # turned 90° anticlockwise: the right half on top
        (3, (600, 400), BLUE, RED),  # upside down
        (2, (600, 400), BLUE, RED),  # mirrored
    ],
)
def test_exif_orientation_is_applied(
    orientation: int,
    size: tuple[int, int],
    top_left: tuple[int, int, int],
    bottom_right: tuple[int, int, int],
) -> None:
    exif = gps_exif()
    exif[ExifTags.Base.Orientation] = orientation
    source = encode(two_halves((600, 400)), "JPEG", exif=exif, quality=95)

    prepared = prepare_image(source, LIMITS)

    assert (prepared.width, prepared.height) == size
    out = decoded(prepared.jpeg)
    assert close_to(out.getpixel((5, 5)), top_left)
    assert close_to(out.getpixel((size[0] - 5, size[1] - 5)), bottom_right)
    assert_no_metadata(prepared.jpeg)  # the orientation tag is gone too: no double turn


def test_png_is_normalised_to_jpeg() -> None:
    prepared = prepare_image(encode(two_halves((640, 480)), "PNG"), LIMITS)
    assert prepared.source_type == "png"
    assert prepared.jpeg.startswith(b"\xff\xd8\xff")
    out = decoded(prepared.jpeg)
    assert close_to(out.getpixel((5, 5)), RED)
    assert close_to(out.getpixel((635, 5)), BLUE)


def test_transparent_png_is_put_on_white() -> None:
    image = Image.new("RGBA", (500, 500), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 250, 500))
    out = decoded(prepare_image(encode(image, "PNG"), LIMITS).jpeg)
    assert close_to(out.getpixel((10, 10)), BLUE)
    assert close_to(out.getpixel((490, 10)), (255, 255, 255))


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "LA", "CMYK"])
def test_unusual_pixel_modes_become_rgb(mode: str) -> None:
    image = photo((500, 400)).convert(mode) if mode != "I;16" else Image.new(mode, (500, 400))
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    prepared = prepare_image(encode(image, fmt), LIMITS)
    assert decoded(prepared.jpeg).size == (500, 400)
    with Image.open(io.BytesIO(prepared.jpeg)) as out:
        assert out.mode == "RGB"


def test_heic_is_accepted_and_its_gps_stripped() -> None:
    source = encode(two_halves((800, 600)), "HEIF", exif=gps_exif().tobytes(), quality=90)
    assert detect_type(source) == "heic"

    prepared = prepare_image(source, LIMITS)

    assert prepared.source_type == "heic"
    assert (prepared.width, prepared.height) == (800, 600)
    out = decoded(prepared.jpeg)
    assert close_to(out.getpixel((5, 5)), RED)
    assert close_to(out.getpixel((795, 595)), BLUE)
    assert_no_metadata(prepared.jpeg)


def test_icc_profile_is_converted_and_dropped() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = encode(photo((400, 400), (200, 100, 50)), "JPEG", icc_profile=profile, quality=95)
    prepared = prepare_image(source, LIMITS)
    assert_no_metadata(prepared.jpeg)
    assert close_to(decoded(prepared.jpeg).getpixel((200, 200)), (200, 100, 50))


def test_type_is_detected_by_content_not_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "holiday.png"
    misnamed.write_bytes(encode(photo(), "JPEG"))
    assert prepare_image(misnamed.read_bytes(), LIMITS).source_type == "jpeg"
    fake_jpg = tmp_path / "photo.jpg"
    fake_jpg.write_bytes(encode(photo(), "WEBP"))
    with pytest.raises(UnsupportedImageType, match="WebP"):
        prepare_image(fake_jpg.read_bytes(), LIMITS)


def test_multi_picture_jpeg_is_a_still_photo() -> None:
    """Cameras write MPO files (a JPEG plus a preview): the primary picture is used."""
    source = encode(photo((800, 600)), "MPO", save_all=True, append_images=[photo((320, 240))])
    with Image.open(io.BytesIO(source)) as check:
        assert check.format == "MPO"
    prepared = prepare_image(source, LIMITS)
    assert (prepared.source_type, prepared.width, prepared.height) == ("jpeg", 800, 600)


def test_large_photo_is_scaled_down_to_the_output_cap() -> None:
    limits = IntakeLimits(max_output_side=1000)
    prepared = prepare_image(encode(two_halves((2400, 1200)), "JPEG"), limits)
    assert (prepared.width, prepared.height) == (1000, 500)
    out = decoded(prepared.jpeg)
    assert close_to(out.getpixel((5, 5)), RED)
    assert close_to(out.getpixel((995, 5)), BLUE)


def test_large_rotated_photo_is_scaled_then_turned() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    source = encode(two_halves((2400, 1200)), "JPEG", exif=exif)
    prepared = prepare_image(source, IntakeLimits(max_output_side=1000))
    assert (prepared.width, prepared.height) == (500, 1000)
    out = decoded(prepared.jpeg)
    assert close_to(out.getpixel((5, 5)), RED)
    assert close_to(out.getpixel((495, 995)), BLUE)


def test_hashes_sizes_and_determinism() -> None:
    source = encode(photo(), "PNG")
    first = prepare_image(source, LIMITS)
    again = prepare_image(source, LIMITS)
    assert first == again  # same photo, same bytes: uploads can be deduplicated by sha256
    assert first.sha256 == hashlib.sha256(first.jpeg).hexdigest()
    assert first.source_sha256 == hashlib.sha256(source).hexdigest()
    assert first.source_bytes == len(source)
    assert first.content_type == "image/jpeg"


def test_limits_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEAI_INTAKE_MIN_SIDE", "500")
    monkeypatch.setenv("LIVEAI_INTAKE_MAX_RATIO", "2")
    monkeypatch.setenv("LIVEAI_INTAKE_MAX_BYTES", "123456")
    limits = IntakeLimits.from_settings(load_settings())
    assert (limits.min_side, limits.max_ratio, limits.min_ratio) == (500, 2.0, 0.5)
    assert limits.max_bytes == 123456
    with pytest.raises(ImageTooSmall):
        prepare_image(encode(photo((600, 450)), "JPEG"), limits)


@pytest.mark.parametrize("size", [(300, 300), (750, 300), (300, 750)])
def test_limits_are_inclusive(size: tuple[int, int]) -> None:
    prepared = prepare_image(encode(photo(size), "PNG"), LIMITS)
    assert (prepared.width, prepared.height) == size


# --- refused photos, each with its own reason ---


def test_empty_file() -> None:
    with pytest.raises(EmptyImage, match="empty") as caught:
        prepare_image(b"", LIMITS)
    assert caught.value.exit_code == ExitCode.USAGE
    assert isinstance(caught.value, InvalidInput)


def test_file_above_the_size_limit() -> None:
    source = encode(photo(), "PNG")
    with pytest.raises(ImageFileTooLarge, match="limit") as caught:
        prepare_image(source, IntakeLimits(max_bytes=len(source) - 1))
    assert caught.value.hint is not None
    assert "LIVEAI_INTAKE_MAX_BYTES" in caught.value.hint


def test_truncated_jpeg_is_corrupt() -> None:
    source = encode(photo((800, 600)), "JPEG", quality=95)
    with pytest.raises(CorruptImage, match="JPEG"):
        prepare_image(source[: len(source) // 2], LIMITS)


@pytest.mark.parametrize(
    "source",
    [
        b"\xff\xd8\xff" + b"\x00" * 200,
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 30,
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
    ],
    ids=["jpeg", "png", "heic"],
)
def test_garbage_behind_a_valid_signature_is_corrupt(source: bytes) -> None:
    with pytest.raises(CorruptImage, match="cannot be decoded") as caught:
        prepare_image(source, LIMITS)
    assert caught.value.code == "corrupt"


@pytest.mark.parametrize(
    ("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF"), ("WEBP", "WebP")]
)
def test_other_image_types_are_unsupported(fmt: str, name: str) -> None:
    with pytest.raises(UnsupportedImageType, match=f"{name} image, not a JPEG, PNG or HEIC"):
        prepare_image(encode(photo(), fmt), LIMITS)


def test_text_is_not_an_image() -> None:
    with pytest.raises(UnsupportedImageType, match="unknown type"):
        prepare_image(b"hello, this is not a photo at all", LIMITS)


def test_animated_png_is_refused() -> None:
    frames = [photo(color=c) for c in (RED, BLUE, (0, 255, 0))]
    source = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(AnimatedImage, match="3 frames"):
        prepare_image(source, LIMITS)


def test_animated_gif_is_refused() -> None:
    frames = [photo(color=c) for c in (RED, BLUE)]
    source = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(UnsupportedImageType, match="GIF"):
        prepare_image(source, LIMITS)


def test_multi_image_heic_is_refused() -> None:
    source = encode(photo(), "HEIF", save_all=True, append_images=[photo(color=BLUE)])
    with pytest.raises(AnimatedImage, match="2 frames"):
        prepare_image(source, LIMITS)


def test_side_below_the_minimum() -> None:
    with pytest.raises(ImageTooSmall, match=r"299x800.*at least 300 px"):
        prepare_image(encode(photo((299, 800)), "PNG"), LIMITS)


def test_rotation_is_applied_before_the_size_checks() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    with pytest.raises(ImageTooSmall, match="290x800"):
        prepare_image(encode(photo((800, 290)), "JPEG", exif=exif), LIMITS)


@pytest.mark.parametrize("size", [(1000, 399), (399, 1000)])
def test_aspect_ratio_outside_the_bounds(size: tuple[int, int]) -> None:
    with pytest.raises(BadAspectRatio, match="aspect ratio"):
        prepare_image(encode(photo(size), "PNG"), LIMITS)


def test_photo_above_the_pixel_limit_is_refused_before_decoding() -> None:
    # 10000 x 10000 one-bit pixels: a 12 kB file that would decode to 300 MB of RGB.
    source = encode(Image.new("1", (10_000, 10_000)), "PNG", optimize=True)
    assert len(source) < 100_000
    with pytest.raises(DecompressionBomb, match="100,000,000 pixels"):
        prepare_image(source, LIMITS)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def test_decompression_bomb_header_is_refused() -> None:
    """A PNG whose header claims 40000 x 40000 pixels: Pillow itself refuses to open it."""
    header = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 2, 0, 0, 0)
    source = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + _png_chunk(b"IEND", b"")
    )
    with pytest.raises(DecompressionBomb, match="decompression bomb"):
        prepare_image(source, IntakeLimits(max_pixels=10**12))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"\x00\x00\x00\x18ftyp"]),
    body=st.binary(max_size=400),
)
def test_arbitrary_bytes_only_ever_raise_invalid_image(prefix: bytes, body: bytes) -> None:
    with pytest.raises(InvalidImage):
        prepare_image(prefix + body, LIMITS)


# --- the CLI ---


def test_cli_intake_check(cli_embedded: Cli, tmp_path: Path) -> None:
    photo_file = tmp_path / "IMG_0042.HEIC"
    photo_file.write_bytes(encode(photo((900, 600)), "HEIF", exif=gps_exif().tobytes()))
    clean = tmp_path / "clean.jpg"

    result = cli_embedded("intake", "check", str(photo_file), "--out", str(clean), "--json")

    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["source_type"] == "heic"
    assert (shown["width"], shown["height"]) == (900, 600)
    assert shown["sha256"] == hashlib.sha256(clean.read_bytes()).hexdigest()
    assert_no_metadata(clean.read_bytes())


def test_cli_intake_refusal_exits_2_with_the_reason(cli_embedded: Cli, tmp_path: Path) -> None:
    narrow = tmp_path / "narrow.png"
    narrow.write_bytes(encode(photo((1000, 300)), "PNG"))
    result = cli_embedded("intake", "check", str(narrow))
    assert result.exit_code == ExitCode.USAGE
    assert "error: the photo's aspect ratio 1000:300" in result.stderr
    assert "crop the photo" in result.stderr
    assert result.stdout == ""


def png_of(width: int, height: int, *, depth: int, colour_type: int) -> bytes:
    """A black PNG of any size without holding its pixels: rows are compressed as made."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" * (1 + width * channels * depth // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_a_16_bit_rgba_png_under_the_pixel_cap_is_refused_before_decoding() -> None:
    import tracemalloc

    bomb = png_of(8000, 7999, depth=16, colour_type=6)
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="to decode") as caught:
            prepare_image(bomb, IntakeLimits())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == "decode_budget"  # type: ignore[attr-defined]
    assert "16 bits" in caught.value.message and "LIVEAI_INTAKE_MAX_DECODE_BYTES" in str(
        caught.value.hint
    )
    assert peak < 20_000_000


def test_the_decode_budget_depends_on_the_pixel_mode() -> None:
    limits = IntakeLimits(max_decode_bytes=1_000_000)
    rgba8 = png_of(400, 400, depth=8, colour_type=6)  # 640 kB decoded
    rgba16 = png_of(400, 400, depth=16, colour_type=6)  # 1.28 MB
    grey16 = png_of(400, 400, depth=16, colour_type=0)  # 320 kB
    assert prepare_image(rgba8, limits).width == 400
    assert prepare_image(grey16, limits).width == 400
    with pytest.raises(InvalidInput, match="1,280,000 bytes to decode"):
        prepare_image(rgba16, limits)
    assert (
        IntakeLimits.from_settings(load_settings(intake_max_decode_bytes=5)).max_decode_bytes == 5
    )
