"""A HEIC still written by us: one HEVC intra frame from PyAV's libx265 in a HEIF box tree.

libheif (through pillow-heif) spent 0.3-0.5 s on a 1600x900 still, several times the whole
MOV; x265's ultrafast preset on one frame, with no thread pool or lookahead to start, is a
small fraction of that. The boxes are the ones pillow-heif writes (and the iPhone): a `hvc1`
primary item with `hvcC`, `ispe`, `colr nclx` (sRGB) and `pixi` (3 channels), and an `Exif`
item that `iref cdsc` ties to it.
"""

from __future__ import annotations

import re
import struct
from fractions import Fraction
from typing import TYPE_CHECKING, BinaryIO

from liveai.errors import InvalidInput
from liveai.livephoto.boxes import full_box, make_box

if TYPE_CHECKING:
    from PIL import Image

# At crf 12 a grainy photo decodes about 1 dB PSNR below libheif's quality 90 (most of it
# the RGB to 4:2:0 conversion; a lower crf buys little) in about 60% of the bytes.
_CRF = "12"
_X265_PARAMS = ":".join(
    (
        "log-level=error",
        "info=0",  # no SEI naming the encoder and its options
        "frame-threads=1",
        "pools=none",
        "rc-lookahead=0",
        "bframes=0",
        "range=full",
        "colorprim=bt709",
        "transfer=iec61966-2-1",
        "colormatrix=smpte170m",
    )
)
_NCLX = b"nclx" + struct.pack(">HHHB", 1, 13, 6, 0x80)  # sRGB primaries and curve, BT.601 full
_VPS, _SPS, _PPS = 32, 33, 34
_START_CODE = re.compile(b"\x00\x00\x01")
_PRIMARY, _EXIF = 1, 2


def write_heic(image: Image.Image, exif: bytes, target: BinaryIO) -> None:
    """`exif` is `Exif\\0\\0` + TIFF, as Pillow takes it; the image is RGB and upright."""
    width, height = image.size
    parameter_sets, slices = _encode(image)
    coded = b"".join(struct.pack(">I", len(nal)) + nal for nal in slices)
    exif_item = struct.pack(">I", 6) + exif  # the offset to the TIFF header, past "Exif\0\0"
    properties = (
        make_box(b"hvcC", _hvcc(parameter_sets)),
        full_box(b"ispe", 0, 0, struct.pack(">II", width, height)),
        make_box(b"colr", _NCLX),
        full_box(b"pixi", 0, 0, b"\x03\x08\x08\x08"),
    )
    head = make_box(b"ftyp", b"heic" + struct.pack(">I", 0) + b"mif1heicmiaf")
    meta = _meta(properties, 0, len(coded), len(exif_item))
    data_at = len(head) + len(meta) + 8  # mdat's payload follows its 8-byte header
    meta = _meta(properties, data_at, len(coded), len(exif_item))
    target.write(head + meta + make_box(b"mdat", coded + exif_item))


def _encode(image: Image.Image) -> tuple[dict[int, bytes], list[bytes]]:
    """The parameter sets by NAL type, and the frame's other NAL units in order."""
    import av
    from av.video.reformatter import Interpolation

    width, height = image.size
    context = av.CodecContext.create("libx265", "w")
    context.width, context.height = width, height
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, 1)
    # x265 needs a picture at least one coding tree unit (32, or 16 at the smallest) across
    ctu = "32" if min(width, height) >= 32 else "16"
    context.options = {
        "preset": "ultrafast",
        "profile": "main",  # with keyint=1 x265 signals main-intra (RExt), which iOS may not decode
        "crf": _CRF,
        "x265-params": f"{_X265_PARAMS}:ctu={ctu}",
    }
    picture = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
    frame = picture.reformat(
        format="yuv420p",
        dst_colorspace="ITU601",
        dst_color_range="JPEG",
        interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND,
    )
    stream = b"".join(bytes(packet) for packet in [*context.encode(frame), *context.encode()])
    parameter_sets: dict[int, bytes] = {}
    slices: list[bytes] = []
    for nal in _nal_units(stream):
        kind = (nal[0] >> 1) & 0x3F
        if kind in (_VPS, _SPS, _PPS):
            parameter_sets[kind] = nal
        elif kind < 32:  # coded slices; SEI and the rest are not needed to show the image
            slices.append(nal)
    if len(parameter_sets) != 3 or not slices:
        raise InvalidInput("x265 gave no complete picture for the still")
    return parameter_sets, slices


def _nal_units(stream: bytes) -> list[bytes]:
    """Annex B byte stream to NAL units (a 4-byte start code leaves a zero to strip)."""
    return [part.rstrip(b"\x00") for part in _START_CODE.split(stream) if part.strip(b"\x00")]


def _hvcc(parameter_sets: dict[int, bytes]) -> bytes:
    """HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3) for 8-bit 4:2:0."""
    sps = _unescape(parameter_sets[_SPS])
    sub_layers = ((sps[2] >> 1) & 0x07) + 1
    nested = sps[2] & 0x01
    profile_tier_level = sps[3:15]  # space/tier/profile, compatibility, constraints, level
    record = (
        b"\x01"
        + profile_tier_level
        + struct.pack(">HBBBBH", 0xF000, 0xFC, 0xFC | 1, 0xF8, 0xF8, 0)
        + bytes([(sub_layers << 3) | (nested << 2) | 3])  # 4-byte NAL lengths
        + bytes([3])
    )
    for kind in (_VPS, _SPS, _PPS):
        nal = parameter_sets[kind]
        record += bytes([0x80 | kind]) + struct.pack(">HH", 1, len(nal)) + nal
    return record


def _unescape(nal: bytes) -> bytes:
    """The RBSP: emulation-prevention bytes (00 00 03) removed."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _meta(properties: tuple[bytes, ...], data_at: int, coded: int, exif: int) -> bytes:
    items = (
        full_box(b"infe", 2, 0, struct.pack(">HH", _PRIMARY, 0) + b"hvc1\x00"),
        full_box(b"infe", 2, 1, struct.pack(">HH", _EXIF, 0) + b"Exif\x00"),  # hidden
    )
    locations = struct.pack(">BBH", 0x44, 0x00, 2) + b"".join(
        struct.pack(">HHHII", item, 0, 1, offset, length)
        for item, offset, length in ((_PRIMARY, data_at, coded), (_EXIF, data_at + coded, exif))
    )
    associations = struct.pack(">IHB", 1, _PRIMARY, len(properties)) + bytes(
        [0x81, 0x02, 0x03, 0x04]  # hvcC is essential
    )
    return full_box(
        b"meta",
        0,
        0,
        full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"pict") + b"\x00")
        + full_box(b"pitm", 0, 0, struct.pack(">H", _PRIMARY))
        + full_box(b"iloc", 0, 0, locations)
        + full_box(b"iinf", 0, 0, struct.pack(">H", 2) + b"".join(items))
        + full_box(b"iref", 0, 0, make_box(b"cdsc", struct.pack(">HHH", _EXIF, 1, _PRIMARY)))
        + make_box(
            b"iprp",
            make_box(b"ipco", b"".join(properties)) + full_box(b"ipma", 0, 0, associations),
        ),
    )
