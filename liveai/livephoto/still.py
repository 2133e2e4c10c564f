"""The still of a pair: decoded upright, cropped to the video's aspect, encoded with only
our EXIF (orientation, size, Apple's MakerNote) and nothing else."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from liveai.errors import InvalidInput
from liveai.livephoto.heif import write_heic

if TYPE_CHECKING:
    from PIL import Image

StillFormat = Literal["heic", "jpeg"]
SUFFIXES: dict[StillFormat, str] = {"heic": ".HEIC", "jpeg": ".JPG"}
_QUALITY = 90
_HEIC_SMALLEST = 16  # x265's smallest coding tree unit


def load_still(path: Path) -> Image.Image:
    """Decode a JPEG, PNG or HEIC upright in RGB, or refuse it in one line."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    from pillow_heif import register_heif_opener

    register_heif_opener()
    try:
        with Image.open(path) as opened:
            upright = ImageOps.exif_transpose(opened)
        rgb = upright if upright.mode == "RGB" else upright.convert("RGB")
        rgb.info = {}  # the photo's own EXIF, XMP, ICC and comments stay behind
        return rgb
    except FileNotFoundError:
        raise InvalidInput(f"no still image at {path}", hint="check the path") from None
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
    ) as exc:
        raise InvalidInput(
            f"cannot decode the still {path.name}: {exc}",
            hint="pass a JPEG, PNG or HEIC photo",
        ) from None


def frame_at(video: Path, seconds: float) -> Image.Image:
    """The video frame shown at `seconds` (the last one at or before it), in RGB."""
    import av

    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            chosen = None
            for frame in container.decode(stream):
                if chosen is not None and frame.time is not None and frame.time > seconds + 1e-6:
                    break
                chosen = frame
            if chosen is None:
                raise InvalidInput(f"{video.name} has no decodable video frame")
            image: Image.Image = chosen.to_image()  # type: ignore[no-untyped-call]
            return image
    except av.FFmpegError as exc:
        raise InvalidInput(f"cannot decode {video.name}: {exc}") from None


def crop_to_aspect(image: Image.Image, width: float, height: float) -> Image.Image:
    """Centre-crop to width:height (no change when the aspects already agree to a pixel)."""
    target = Fraction(round(width * 1000), round(height * 1000))
    w, h = image.size
    if abs(Fraction(w, h) - target) * h < 1:
        return image
    if Fraction(w, h) > target:
        new_w = max(1, round(h * target))
        left = (w - new_w) // 2
        return image.crop((left, 0, left + new_w, h))
    new_h = max(1, round(w / target))
    top = (h - new_h) // 2
    return image.crop((0, top, w, top + new_h))


def fit_format(image: Image.Image, fmt: StillFormat) -> Image.Image:
    """A HEIC still's 4:2:0 picture needs an even size: an odd last column or row goes."""
    if fmt == "jpeg":
        return image
    w, h = image.size
    if min(w, h) < _HEIC_SMALLEST:
        raise InvalidInput(
            f"the still would be {w}x{h}: a HEIC still needs {_HEIC_SMALLEST} pixels a side",
            hint="pass --format jpeg, or a larger photo or video",
        )
    return image if (w, h) == (w - w % 2, h - h % 2) else image.crop((0, 0, w - w % 2, h - h % 2))


def write_still(image: Image.Image, exif: bytes, fmt: StillFormat, target: BinaryIO) -> None:
    """Encode with exactly our EXIF; the image's own metadata (ICC, XMP, comments) is dropped."""
    image.info = {}
    if fmt == "jpeg":
        image.save(target, "JPEG", quality=_QUALITY, exif=exif)
        return
    write_heic(image, exif, target)
