"""Photo intake: accept JPEG, PNG and HEIC by content, refuse what cannot be used, normalise.

Every accepted photo leaves here as a clean JPEG: EXIF orientation applied, colours
converted to sRGB, and every metadata block (EXIF with GPS, XMP, ICC, comments) dropped,
because the privacy policy promises that no precise location reaches storage or a provider.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from liveai.errors import InvalidInput, plain_reason

if TYPE_CHECKING:
    from liveai.settings import Settings

SOURCE_TYPES = ("jpeg", "png", "heic")
_PIL_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "HEIF": "heic"}
_JPEG_QUALITY = 90
_RESIZABLE_MODES = ("RGB", "RGBA", "L", "LA", "CMYK")
# What Pillow keeps in memory per pixel: one byte for these modes, two for 16-bit grey,
# four for every other mode (RGB is stored padded to four).
_PILLOW_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
_TRANSPOSE = {  # EXIF orientation -> the turn that makes the photo upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_OTHER_SIGNATURES = {
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"%PDF": "PDF",
}


class InvalidImage(InvalidInput):
    """A photo intake refused; ``code`` names the reason for task records and metrics."""

    code: ClassVar[str] = "invalid_image"


class EmptyImage(InvalidImage):
    code = "empty"


class ImageFileTooLarge(InvalidImage):
    code = "file_too_large"


class UnsupportedImageType(InvalidImage):
    code = "unsupported_type"


class CorruptImage(InvalidImage):
    code = "corrupt"


class AnimatedImage(InvalidImage):
    code = "animated"


class DecompressionBomb(InvalidImage):
    code = "too_many_pixels"


class ImageTooCostly(InvalidImage):
    code = "decode_budget"


class ImageTooSmall(InvalidImage):
    code = "too_small"


class BadAspectRatio(InvalidImage):
    code = "aspect_ratio"


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int = 30_000_000
    min_side: int = 300
    min_ratio: float = 1 / 2.5
    max_ratio: float = 2.5
    max_pixels: int = 64_000_000
    max_output_side: int = 4096
    max_decode_bytes: int = 256_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeLimits:
        return cls(
            max_bytes=settings.intake_max_bytes,
            min_side=settings.intake_min_side,
            min_ratio=1 / settings.intake_max_ratio,
            max_ratio=settings.intake_max_ratio,
            max_pixels=settings.intake_max_pixels,
            max_output_side=settings.intake_max_output_side,
            max_decode_bytes=settings.intake_max_decode_bytes,
        )


@dataclass(frozen=True)
class PreparedImage:
    jpeg: bytes
    width: int
    height: int
    source_type: str  # "jpeg" | "png" | "heic"
    sha256: str  # of the normalised JPEG
    source_sha256: str
    source_bytes: int

    @property
    def content_type(self) -> str:
        return "image/jpeg"


def prepare_image(data: bytes, limits: IntakeLimits) -> PreparedImage:
    """Validate a photo's bytes and return it as a clean, upright, metadata-free JPEG."""
    _check_file(data, limits)
    source_type = detect_type(data)
    with _open(data, source_type) as image:
        _check_frames(image)
        _check_pixels(image.size, limits)
        _check_decode_budget(image, limits)
        clean = _normalise(image, limits)
    jpeg = _encode_jpeg(clean)
    return PreparedImage(
        jpeg=jpeg,
        width=clean.width,
        height=clean.height,
        source_type=source_type,
        sha256=hashlib.sha256(jpeg).hexdigest(),
        source_sha256=hashlib.sha256(data).hexdigest(),
        source_bytes=len(data),
    )


def detect_type(data: bytes) -> str:
    """The photo's type from its first bytes ("jpeg", "png" or "heic"), whatever its name."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[4:8] == b"ftyp" and _is_heif_brand(data):
        return "heic"
    raise UnsupportedImageType(
        f"the file is {_describe_unsupported(data)}, not a JPEG, PNG or HEIC photo",
        hint="export the photo as JPEG, PNG or HEIC and try again",
    )


def _is_heif_brand(data: bytes) -> bool:
    box_size = int.from_bytes(data[0:4], "big")
    brands = data[8:12] + data[16 : min(box_size, 64)]
    return any(brands[i : i + 4] in _HEIF_BRANDS for i in range(0, len(brands) - 3, 4))


def _describe_unsupported(data: bytes) -> str:
    for signature, name in _OTHER_SIGNATURES.items():
        if data.startswith(signature):
            return f"a {name} image"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp" and b"avif" in data[8:32]:
        return "an AVIF image"
    return "of an unknown type"


def _check_file(data: bytes, limits: IntakeLimits) -> None:
    if not data:
        raise EmptyImage("the photo is empty (0 bytes)", hint="choose another file")
    if len(data) > limits.max_bytes:
        raise ImageFileTooLarge(
            f"the photo is {len(data):,} bytes, above the {limits.max_bytes:,}-byte limit",
            hint="send a smaller photo (or raise LIVEAI_INTAKE_MAX_BYTES)",
        )


def _open(data: bytes, source_type: str) -> Image.Image:
    if source_type == "heic":
        _register_heif()
    try:
        with warnings.catch_warnings():
            # Our own pixel limit is checked next; Pillow's warning would only be noise.
            # (catch_warnings is process-wide: a racing thread can at worst also miss
            # this one warning category, which it would ignore anyway.)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "HEIF"])
    except Image.DecompressionBombError:
        raise DecompressionBomb(
            "the photo declares far too many pixels (a decompression bomb?)",
            hint="send a normal camera photo",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _corrupt(source_type, exc) from None
    if _PIL_FORMATS.get(image.format or "") != source_type:
        image.close()
        raise _corrupt(source_type, None)
    return image


def _register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _corrupt(source_type: str, exc: BaseException | None) -> CorruptImage:
    reason = plain_reason(exc) if exc else ""
    why = f": {reason}" if reason else ""
    return CorruptImage(
        f"the photo looks like a {source_type.upper()} but cannot be decoded{why}",
        hint="the file is damaged or truncated; send the original photo again",
    )


def _check_frames(image: Image.Image) -> None:
    # An MPO (a JPEG with extra pictures, as many cameras write) is a still photo
    # whose first picture is the primary image: accepted as a JPEG.
    if image.format == "MPO":
        return
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise AnimatedImage(
            f"the photo has {frames} frames (animated or multi-image); a single still is needed",
            hint="export one frame as a still photo",
        )


def _check_pixels(size: tuple[int, int], limits: IntakeLimits) -> None:
    width, height = size
    if width * height > limits.max_pixels:
        raise DecompressionBomb(
            f"the photo is {width}x{height} = {width * height:,} pixels, above the "
            f"{limits.max_pixels:,}-pixel limit",
            hint="send a smaller photo (or raise LIVEAI_INTAKE_MAX_PIXELS)",
        )


def _check_decode_budget(image: Image.Image, limits: IntakeLimits) -> None:
    """Refuse, before any pixel is decoded, a photo whose decoding would take more memory
    than the budget: its pixels times the larger of the bytes Pillow keeps per pixel and
    the bytes the source stores per pixel (16-bit samples count twice)."""
    width, height = image.size
    source_bytes, depth = _source_pixel_bytes(image)
    needed = width * height * max(_PILLOW_PIXEL_BYTES.get(image.mode, 4), source_bytes)
    if needed > limits.max_decode_bytes:
        raise ImageTooCostly(
            f"the photo ({width}x{height} {image.mode} at {depth} bits per channel) would take "
            f"{needed:,} bytes to decode, above the {limits.max_decode_bytes:,}-byte budget",
            hint="send an 8-bit or smaller photo (or raise LIVEAI_INTAKE_MAX_DECODE_BYTES)",
        )


def _source_pixel_bytes(image: Image.Image) -> tuple[int, int]:
    """(bytes per pixel, bits per channel) as the file stores them, from the decoder's raw
    mode (e.g. "RGBA;16B"); Pillow's own mode when the decoder names none."""
    tiles = getattr(image, "tile", None) or []
    args = tiles[0][3] if tiles else None
    raw = args if isinstance(args, str) else image.mode
    base, _, layout = raw.partition(";")
    depth = 16 if layout.startswith("16") else 8
    channels = len(base) if base.isalpha() and base.isupper() else 1
    return channels * depth // 8, depth


def _check_dimensions(size: tuple[int, int], limits: IntakeLimits) -> None:
    width, height = size
    if min(width, height) < limits.min_side:
        raise ImageTooSmall(
            f"the photo is {width}x{height}; each side must be at least {limits.min_side} px",
            hint="send a larger photo",
        )
    ratio = width / height
    if not limits.min_ratio <= ratio <= limits.max_ratio:
        raise BadAspectRatio(
            f"the photo's aspect ratio {width}:{height} ({ratio:.2f}) is outside "
            f"{limits.min_ratio:.2f} to {limits.max_ratio:.2f}",
            hint="crop the photo closer to a square",
        )


def _normalise(image: Image.Image, limits: IntakeLimits) -> Image.Image:
    """Upright, sRGB, capped in size, in a fresh image that carries no metadata at all."""
    orientation = _orientation(image)
    _check_dimensions(_upright_size(image.size, orientation), limits)
    side = limits.max_output_side
    try:
        # Shrink first (a JPEG then decodes at reduced scale), so a 48-megapixel photo
        # is never copied at full size by the rotation or the colour conversion.
        work = image if image.mode in _RESIZABLE_MODES else _to_srgb(image)
        work.thumbnail((side, side), Image.Resampling.LANCZOS)
        work.load()
        if orientation in _TRANSPOSE:
            work = work.transpose(_TRANSPOSE[orientation])
        rgb = _to_srgb(work)
    except (OSError, ValueError, SyntaxError) as exc:
        raise _corrupt(_PIL_FORMATS.get(image.format or "", "image"), exc) from None
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)  # a fresh image: no info dict, so no metadata can follow
    return clean


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (OSError, ValueError, SyntaxError):
        return 1  # unreadable EXIF: treat the photo as upright, it is dropped anyway
    return value if isinstance(value, int) else 1


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _to_srgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = _flatten(image)
    if image.mode not in ("RGB", "CMYK"):
        image = image.convert("RGB")
    if profile:
        image = _convert_profile(image, profile)
    return image if image.mode == "RGB" else image.convert("RGB")


def _flatten(image: Image.Image) -> Image.Image:
    """Put transparent pixels on white: providers want opaque photos."""
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    flat = white.convert("RGB")
    flat.info = dict(image.info)
    return flat


def _convert_profile(image: Image.Image, profile: bytes) -> Image.Image:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: keep the pixels as they are
    return converted if converted is not None else image


def _encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=_JPEG_QUALITY, optimize=False)
    return buffer.getvalue()
