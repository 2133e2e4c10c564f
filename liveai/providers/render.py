"""Render a camera move over a still photo into an H.264 MP4 (PyAV), deterministically.

The photo is decoded straight into an array and downscaled once (OpenCV, area averaging),
then converted once to yuv420p planes (swscale, the encoder's limited-range BT.601). Each
frame is one affine resample of those planes (crop, scale and roll in a single bilinear
pass at 1/32 pixel precision, chroma at half size, the photo's edge repeated where a tilted
window reaches past it), written by OpenCV's SIMD warp straight into the encoder frame's
planes on a second thread while libx264 encodes: no per-frame copy or colour conversion.
The eased path makes starts and stops smooth. x264 runs without its AVX-512 code, which
made equal renders differ (see _x264_cpu_flags).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import io
import math
import pathlib
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from PIL import Image

from liveai import stopping
from liveai.providers.base import Motion

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Pixels = npt.NDArray[np.uint8]

FPS = 30


@dataclass(frozen=True)
class Camera:
    """Where the virtual camera looks: centre offset (fractions of the frame), zoom, roll."""

    dx: float = 0.0
    dy: float = 0.0
    zoom: float = 1.0
    roll_deg: float = 0.0


Path = Callable[[float], Camera]

_PAN = 0.08  # how far a pan or truck travels, as a fraction of the frame
_ROLL = 6.0


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def ease(t: float) -> float:
    """Cosine ease-in-out: zero velocity at both ends."""
    return 0.5 - 0.5 * math.cos(math.pi * min(max(t, 0.0), 1.0))


def _slide(dx: float, dy: float, zoom: float = 1.2) -> Path:
    return lambda t: Camera(dx=_lerp(-dx, dx, t), dy=_lerp(-dy, dy, t), zoom=zoom)


def _zoom(start: float, end: float) -> Path:
    return lambda t: Camera(zoom=_lerp(start, end, t))


def _roll(sign: float) -> Path:
    return lambda t: Camera(zoom=1.25, roll_deg=_lerp(-sign * _ROLL, sign * _ROLL, t))


def _orbit(sign: float) -> Path:
    return lambda t: Camera(
        dx=_lerp(-sign * _PAN, sign * _PAN, t),
        zoom=_lerp(1.15, 1.3, t),
        roll_deg=_lerp(sign * 2.0, -sign * 2.0, t),
    )


PATHS: dict[Motion, Path] = {
    Motion.STATIC: lambda t: Camera(zoom=_lerp(1.0, 1.02, t)),
    Motion.ZOOM_IN: _zoom(1.0, 1.3),
    Motion.ZOOM_OUT: _zoom(1.3, 1.0),
    Motion.PUSH_IN: _zoom(1.0, 1.45),
    Motion.PULL_OUT: _zoom(1.45, 1.0),
    Motion.PAN_LEFT: _slide(_PAN, 0.0),
    Motion.PAN_RIGHT: _slide(-_PAN, 0.0),
    Motion.TRUCK_LEFT: _slide(_PAN * 1.2, 0.0, zoom=1.25),
    Motion.TRUCK_RIGHT: _slide(-_PAN * 1.2, 0.0, zoom=1.25),
    Motion.TILT_UP: _slide(0.0, _PAN),
    Motion.TILT_DOWN: _slide(0.0, -_PAN),
    Motion.PEDESTAL_UP: _slide(0.0, _PAN * 1.2, zoom=1.25),
    Motion.PEDESTAL_DOWN: _slide(0.0, -_PAN * 1.2, zoom=1.25),
    Motion.ROLL_CW: _roll(1.0),
    Motion.ROLL_CCW: _roll(-1.0),
    Motion.ORBIT_LEFT: _orbit(1.0),
    Motion.ORBIT_RIGHT: _orbit(-1.0),
}


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The photo's aspect, longest side at most max_side, both sides even (H.264 4:2:0)."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _affine(camera: Camera, src: tuple[int, int], out: tuple[int, int]) -> tuple[float, ...]:
    """Coefficients mapping an output pixel to the source pixel it samples."""
    sw, sh = src
    ow, oh = out
    scale = min(sw / ow, sh / oh) / camera.zoom
    theta = math.radians(camera.roll_deg)
    a, b = scale * math.cos(theta), -scale * math.sin(theta)
    d, e = scale * math.sin(theta), scale * math.cos(theta)
    # Keep the window inside the photo: a slide never shows past the edge.
    spare_x = max(0.0, (sw - ow * scale) / 2)
    spare_y = max(0.0, (sh - oh * scale) / 2)
    cx = sw / 2 + max(-spare_x, min(spare_x, camera.dx * sw))
    cy = sh / 2 + max(-spare_y, min(spare_y, camera.dy * sh))
    ocx, ocy = ow / 2, oh / 2
    return (a, b, cx - a * ocx - b * ocy, d, e, cy - d * ocx - e * ocy)


def _working_copy(photo: Pixels, out: tuple[int, int], max_zoom: float) -> Pixels:
    """Downscale once so every frame samples about one source pixel per output pixel."""
    import cv2
    import numpy as np

    height, width = photo.shape[:2]
    need = max(out[0] / width, out[1] / height) * max_zoom
    if need >= 1.0:
        return photo
    size = (max(1, round(width * need)), max(1, round(height * need)))
    return np.asarray(cv2.resize(photo, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


@dataclass(frozen=True)
class Planes:
    """A picture as its three yuv420p planes (limited-range BT.601, what the encoder takes)."""

    y: Pixels
    u: Pixels
    v: Pixels


def _yuv_planes(rgb: Pixels) -> Planes:
    """Convert once with swscale, so each frame only resamples planes that are already YUV."""
    import av
    import numpy as np

    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return Planes(*_plane_views(frame.reformat(format="yuv420p")))


def _plane_views(frame: Any) -> list[Pixels]:
    """Writable numpy views of a yuv420p frame's planes, without their row padding."""
    import numpy as np

    return [
        np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        for plane in frame.planes
    ]


def frames(photo: Pixels, motion: Motion, duration_s: int, out: tuple[int, int]) -> Iterator[Any]:
    """The frames of the move as yuv420p encoder frames (PyAV), each drawn in place."""
    import av

    path = PATHS[motion]
    count = duration_s * FPS
    max_zoom = max(path(ease(i / max(1, count - 1))).zoom for i in (0, count - 1))
    source = _yuv_planes(_working_copy(photo, out, max_zoom))
    for index in range(count):
        camera = path(ease(index / max(1, count - 1)))
        to_luma = _affine(camera, (source.y.shape[1], source.y.shape[0]), out)
        to_chroma = _halved(to_luma)
        frame = av.VideoFrame(out[0], out[1], "yuv420p")
        y, u, v = _plane_views(frame)
        _sample(source.y, to_luma, y)
        _sample(source.u, to_chroma, u)
        _sample(source.v, to_chroma, v)
        yield frame


def _halved(coefficients: tuple[float, ...]) -> tuple[float, ...]:
    """The same window on a half-resolution plane: output and source coordinates both halve."""
    a, b, c, d, e, f = coefficients
    return (a, b, c / 2, d, e, f / 2)


def _sample(plane: Pixels, coefficients: tuple[float, ...], into: Pixels) -> None:
    """One bilinear affine resample of plane, written straight into the frame's plane."""
    import cv2
    import numpy as np

    a, b, c, d, e, f = coefficients
    # The coefficients map pixel-edge coordinates (centres at +0.5); OpenCV's pixel
    # centres are the integers, so shift in by half a pixel and back out.
    to_source = np.array(
        [[a, b, c + (a + b - 1) / 2], [d, e, f + (d + e - 1) / 2]], dtype=np.float64
    )
    cv2.warpAffine(
        plane,
        to_source,
        (into.shape[1], into.shape[0]),
        dst=into,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def render_mp4(
    jpeg: bytes, motion: Motion, duration_s: int, *, max_side: int, preset: str = "veryfast"
) -> bytes:
    """The photo as a duration_s-second, 30 fps H.264 MP4 with the camera move."""
    import av

    photo = _decoded(jpeg)
    out = output_size(photo.shape[1], photo.shape[0], max_side)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS, options=encoder_options(preset))
        stream.width, stream.height = out
        stream.pix_fmt = "yuv420p"
        container.metadata.clear()
        for frame in _pipelined(frames(photo, motion, duration_s, out)):
            stopping.check()
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _decoded(image: bytes) -> Pixels:
    """The photo's RGB pixels, decoded straight into an array (libjpeg-turbo, libpng)."""
    import cv2
    import numpy as np

    pixels = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR_RGB)
    if pixels is None:
        raise ValueError("the renderer cannot read this photo")
    return np.asarray(pixels, dtype=np.uint8)


def encoder_options(preset: str) -> dict[str, str]:
    """libx264 at CRF 20, on x264's own SIMD choice minus AVX-512 (see _x264_cpu_flags)."""
    options = {"preset": preset, "crf": "20", "threads": "2"}
    cpu = _x264_cpu_flags()
    if cpu is not None:
        options["x264-params"] = f"asm={cpu}"
    return options


_X264_CPU_AVX512 = 1 << 16  # X264_CPU_AVX512 in x264.h


@functools.cache
def _x264_cpu_flags() -> int | None:
    """x264's CPU detection without AVX-512, or None when libx264 cannot be found.

    x264's AVX-512 mbtree_propagate_list works on 8 macroblocks at a time and does not
    mask the lanes past the end of a row, so when the width in macroblocks is not a
    multiple of 8 it folds bytes it never wrote (leftovers of earlier heap use) into the
    macroblock-tree costs, and the same frames encode to different bytes from run to run.
    The AVX2 version stops at the row's end, so dropping AVX-512 makes the output a
    function of the frames alone, at no cost in speed.
    """
    import av  # noqa: F401  (loads libavcodec and with it the libx264 it is linked to)

    library = _loaded_library("libx264") or ctypes.util.find_library("x264")
    if library is None:
        return None
    try:
        detect = ctypes.CDLL(library).x264_cpu_detect
    except (OSError, AttributeError):
        return None
    detect.restype = ctypes.c_uint32
    detect.argtypes = []
    return int(detect()) & ~_X264_CPU_AVX512


def _loaded_library(stem: str) -> str | None:
    """The path of a shared library already mapped into this process (Linux), if any."""
    try:
        maps = pathlib.Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)  # address, perms, offset, device, inode, path
        if len(fields) == 6 and pathlib.Path(fields[5]).name.startswith((stem + "-", stem + ".")):
            return fields[5]
    return None


def _pipelined(frames: Iterator[Any], depth: int = 4) -> Iterator[Any]:
    """Draw frames on a second thread while the encoder works on this one (OpenCV
    releases the GIL while it resamples); the order, and so the output, is unchanged."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: Any) -> bool:
        """Queue ``item`` unless the consumer has gone; whether it was queued."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not hand_over(frame):
                    return  # the consumer stopped (Ctrl-C, a stop request): draw no more
            hand_over(_DONE)
        except BaseException as exc:
            hand_over(exc)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


_DONE = object()


def poster_jpeg(mp4: bytes | BinaryIO, *, quality: int = 85) -> bytes:
    """A JPEG of the video's middle frame (from bytes or a file); raises ValueError for
    bytes that are no video."""
    import av

    try:
        with av.open(io.BytesIO(mp4) if isinstance(mp4, bytes) else mp4, mode="r") as container:
            chosen = _middle_frame(container)
    except (av.FFmpegError, IndexError) as exc:
        from liveai.errors import plain_reason

        raise ValueError(f"not a playable video: {plain_reason(exc)}") from None
    if chosen is None:
        raise ValueError("the video has no frames")
    buffer = io.BytesIO()
    chosen.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _middle_frame(container: Any) -> Image.Image | None:
    """The first frame shown at or after the middle of the video (else its last one; its
    first when the video does not say how long it is).

    Decoding starts at the keyframe before the middle and skips the frames nothing else
    refers to: a poster of a provider's 1080p result decodes a few frames, not half of them.
    """
    stream = container.streams.video[0]
    # One decoding thread: workers make posters for many tasks at once, where decoder
    # threads only add the cost of starting them.
    stream.thread_type = "NONE"
    stream.codec_context.skip_frame = "NONREF"
    middle = _middle_pts(stream)
    if middle is not None:
        container.seek(middle, stream=stream, backward=True)
    last: Any = None
    for frame in container.decode(stream):
        last = frame
        if middle is None or (frame.pts is not None and frame.pts >= middle):
            break
    return None if last is None else last.to_image()


def _middle_pts(stream: Any) -> int | None:
    if not stream.duration:
        return None
    return int((stream.start_time or 0) + stream.duration // 2)
