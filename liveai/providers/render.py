"""Render a camera move over a still photo into an H.264 MP4 (PyAV), deterministically.

Each frame is one affine resample of the photo (crop, scale and roll in a single pass),
so a 1080p frame costs one bilinear warp; the eased path makes starts and stops smooth.
"""

from __future__ import annotations

import io
import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from liveai.providers.base import Motion

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


def _working_copy(photo: Image.Image, out: tuple[int, int], max_zoom: float) -> Image.Image:
    """Downscale once so every frame samples about one source pixel per output pixel."""
    photo = photo.convert("RGB")
    need = max(out[0] / photo.width, out[1] / photo.height) * max_zoom
    if need >= 1.0:
        return photo
    size = (max(1, round(photo.width * need)), max(1, round(photo.height * need)))
    return photo.resize(size, Image.Resampling.LANCZOS)


def frames(
    photo: Image.Image, motion: Motion, duration_s: int, out: tuple[int, int]
) -> Iterator[Image.Image]:
    path = PATHS[motion]
    count = duration_s * FPS
    max_zoom = max(path(ease(i / max(1, count - 1))).zoom for i in (0, count - 1))
    source = _working_copy(photo, out, max_zoom)
    for index in range(count):
        camera = path(ease(index / max(1, count - 1)))
        if camera.roll_deg == 0.0:
            # A separable box resize is about twice as fast as the general warp.
            box = _box(camera, source.size, out)
            yield source.resize(out, Image.Resampling.BILINEAR, box=box)
            continue
        coefficients = _affine(camera, source.size, out)
        yield source.transform(
            out, Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BILINEAR
        )


def _box(
    camera: Camera, src: tuple[int, int], out: tuple[int, int]
) -> tuple[float, float, float, float]:
    """The source rectangle an unrolled camera sees (the same window _affine samples)."""
    a, _, c, _, e, f = _affine(camera, src, out)
    return (c, f, c + a * out[0], f + e * out[1])


def render_mp4(
    jpeg: bytes, motion: Motion, duration_s: int, *, max_side: int, preset: str = "veryfast"
) -> bytes:
    """The photo as a duration_s-second, 30 fps H.264 MP4 with the camera move."""
    import av

    with Image.open(io.BytesIO(jpeg)) as opened:
        photo = opened.convert("RGB")
    out = output_size(photo.width, photo.height, max_side)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(
            "libx264", rate=FPS, options={"preset": preset, "crf": "20", "threads": "2"}
        )
        stream.width, stream.height = out
        stream.pix_fmt = "yuv420p"
        container.metadata.clear()
        for frame in _pipelined(frames(photo, motion, duration_s, out)):
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _pipelined(images: Iterator[Image.Image], depth: int = 8) -> Iterator[Any]:
    """Draw and convert frames on a second thread while the encoder works on this one
    (Pillow and swscale release the GIL); the order, and so the output, is unchanged."""
    import av

    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for image in images:
                frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
                frame = frame.reformat(format="yuv420p")
                while not stop.is_set():
                    try:
                        ready.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
            ready.put(_DONE)
        except BaseException as exc:
            ready.put(exc)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


_DONE = object()


def poster_jpeg(mp4: bytes, *, quality: int = 85) -> bytes:
    """A JPEG of the video's middle frame; raises ValueError for bytes that are no video."""
    import av

    chosen: Image.Image | None = None
    try:
        with av.open(io.BytesIO(mp4), mode="r") as container:
            stream = container.streams.video[0]
            # One decoding thread: workers make posters for many tasks at once, where
            # decoder threads only add the cost of starting them.
            stream.thread_type = "NONE"
            middle = (stream.frames or 1) // 2
            last: Any = None
            for index, frame in enumerate(container.decode(stream)):
                last = frame
                if index >= middle:
                    break
            if last is not None:
                chosen = last.to_image()
    except (av.FFmpegError, IndexError) as exc:
        raise ValueError(f"not a playable video: {exc}") from None
    if chosen is None:
        raise ValueError("the video has no frames")
    buffer = io.BytesIO()
    chosen.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
