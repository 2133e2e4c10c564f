"""The offline renderer, the local provider, provider resolution and prices."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

import av
import pytest
from PIL import Image, ImageChops

from liveai.errors import ConfigError, InvalidInput
from liveai.generation.pricing import hold_amount, price_for
from liveai.generation.sample import sample_photo
from liveai.providers.base import Motion, ProviderState, Releasable, VideoRequest
from liveai.providers.local import LocalProvider
from liveai.providers.registry import candidates
from liveai.providers.render import (
    PATHS,
    ease,
    encoder_options,
    output_size,
    poster_jpeg,
    render_mp4,
)
from tests.generation.helpers import photo, rig_settings


def _probe(video: bytes) -> tuple[str, int, int, int, float]:
    with av.open(io.BytesIO(video), mode="r") as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return (
            stream.codec_context.name,
            stream.width,
            stream.height,
            count,
            float(stream.average_rate or 0),
        )


def test_a_render_is_h264_at_30_fps_for_the_duration_and_capped() -> None:
    video = render_mp4(photo(640, 480), Motion.PUSH_IN, 2, max_side=160)
    assert _probe(video) == ("h264", 160, 120, 60, 30.0)


def test_a_render_is_deterministic() -> None:
    # 112 px is 7 macroblocks: x264's AVX-512 macroblock-tree code read past the end of
    # such a row and mixed leftover heap bytes into the encode, so once another render had
    # left its buffers behind, equal renders differed in most pairs.
    jpeg = photo(700, 600)
    render_mp4(photo(), Motion.PUSH_IN, 1, max_side=160)
    first = render_mp4(jpeg, Motion.ORBIT_LEFT, 1, max_side=112)
    for _ in range(4):
        render_mp4(photo(), Motion.PUSH_IN, 1, max_side=160)
        assert render_mp4(jpeg, Motion.ORBIT_LEFT, 1, max_side=112) == first


def test_the_encoder_keeps_off_avx512_but_on_the_rest_of_x264s_simd() -> None:
    options = encoder_options("veryfast")
    cpu = int(options["x264-params"].removeprefix("asm="))
    assert not cpu & (1 << 16)  # X264_CPU_AVX512
    assert cpu & 1  # X264_CPU_MMX: the detected flags are kept, not dropped to plain C


def test_every_motion_has_a_path_that_moves_and_eases() -> None:
    assert set(PATHS) == set(Motion)
    moving = [m for m in Motion if PATHS[m](0.0) != PATHS[m](1.0)]
    assert set(moving) == set(Motion)
    assert ease(0.0) == 0.0 and ease(1.0) == 1.0 and ease(0.5) == pytest.approx(0.5)
    assert ease(0.01) < 0.01  # starts slowly


def test_a_zoom_in_ends_closer_than_it_starts() -> None:
    image = Image.new("RGB", (400, 400), "white")
    image.paste((0, 0, 0), (150, 150, 250, 250))  # a black square in the middle
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    video = render_mp4(buffer.getvalue(), Motion.ZOOM_IN, 1, max_side=100)
    with av.open(io.BytesIO(video), mode="r") as container:
        frames = [f.to_image().convert("L") for f in container.decode(video=0)]  # type: ignore[no-untyped-call]

    def dark(frame: Image.Image) -> int:
        return sum(frame.point(lambda v: 255 if v < 100 else 0).histogram()[255:])

    assert dark(frames[-1]) > dark(frames[0]) * 1.4


def test_a_rolled_frame_shows_nothing_from_outside_the_photo() -> None:
    # An orbit's tilted window reaches past the photo's corners; what it finds there must
    # be the photo's edge, not the blank (green, once in YUV) around the photo.
    colour = (200, 120, 40)
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(buffer, format="PNG")
    video = render_mp4(buffer.getvalue(), Motion.ORBIT_LEFT, 1, max_side=160)
    with av.open(io.BytesIO(video), mode="r") as container:
        for frame in container.decode(video=0):
            image = frame.to_image()  # type: ignore[no-untyped-call]
            flat = Image.new("RGB", image.size, colour)
            extrema = ImageChops.difference(image, flat).getextrema()
            bands = cast(tuple[tuple[int, int], ...], extrema)
            assert all(high < 12 for _, high in bands)


def test_output_sizes_are_even_and_keep_the_aspect() -> None:
    assert output_size(4032, 3024, 1280) == (1280, 960)
    assert output_size(1001, 2001, 4000) == (1000, 2000)
    assert output_size(301, 303, 1280) == (300, 304)


def test_a_poster_comes_from_the_video_and_junk_is_refused() -> None:
    poster = poster_jpeg(render_mp4(photo(), Motion.STATIC, 1, max_side=64))
    assert Image.open(io.BytesIO(poster)).size == (64, 48)
    with pytest.raises(ValueError, match="not a playable video"):
        poster_jpeg(b"\x00\x00\x00\x18ftypmp42 but nothing else")


def _thirds(keyframe_every: int) -> bytes:
    """A 3 s H.264 MP4: a red second, a green one, a blue one."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30, options={"g": str(keyframe_every)})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for colour in ((220, 30, 30), (30, 200, 30), (30, 30, 220)):
            for _ in range(30):
                image = Image.new("RGB", (64, 48), colour)
                frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


@pytest.mark.parametrize("keyframe_every", [10, 250])
def test_a_poster_is_the_middle_frame(keyframe_every: int) -> None:
    poster = Image.open(io.BytesIO(poster_jpeg(_thirds(keyframe_every)))).convert("RGB")
    red, green, blue = cast(tuple[int, int, int], poster.getpixel((32, 24)))
    assert green > 150 and red < 80 and blue < 80


def test_the_local_provider_renders_once_and_survives_a_restart(tmp_path: Path) -> None:
    request = VideoRequest(
        "3f0c2b8e-1111-2222-3333-444455556666", photo(), None, "", Motion.TILT_UP, 1, 640, 480
    )
    provider = LocalProvider(tmp_path, max_side=64)
    assert isinstance(provider, Releasable)
    task_id = provider.submit(request)
    first = (tmp_path / f"{task_id}.mp4").stat().st_mtime_ns
    assert provider.submit(request) == task_id
    assert (tmp_path / f"{task_id}.mp4").stat().st_mtime_ns == first

    status = LocalProvider(tmp_path, max_side=64).poll(task_id)
    assert status.state is ProviderState.SUCCEEDED and status.video_bytes
    provider.release(task_id)
    lost = provider.poll(task_id)
    assert lost.state is ProviderState.FAILED and lost.error_code == "unknown_task"


class _Remote:
    def __init__(self, name: str, region: str = "mainland_china") -> None:
        self.name, self.region = name, region


def test_provider_resolution(tmp_path: Path) -> None:
    settings = rig_settings(tmp_path)  # order kling,ark,wan,fal
    local = LocalProvider(tmp_path, max_side=64)
    assert candidates({"local": local}, settings) == ["local"]
    remote: dict[str, Any] = {
        "wan": _Remote("wan"),
        "fal": _Remote("fal", "overseas"),
        "local": local,
    }
    assert candidates(remote, settings) == ["wan"]  # overseas only when allowed
    allowed = rig_settings(tmp_path, allow_overseas=True)
    assert candidates(remote, allowed) == ["wan", "fal"]
    assert candidates(remote, settings, "local") == ["local"]
    with pytest.raises(InvalidInput, match="not available"):
        candidates(remote, settings, "kling")
    with pytest.raises(InvalidInput, match="overseas"):
        candidates(remote, settings, "fal")
    with pytest.raises(ConfigError):
        candidates({}, settings)


def test_prices_per_provider_and_duration(tmp_path: Path) -> None:
    settings = rig_settings(tmp_path)  # default 5:10 10:20, b 5:12
    assert price_for(settings, "a", 10) == 20 and price_for(settings, "b", 10) is None
    assert hold_amount(settings, ["a", "b"], 5) == 12
    assert hold_amount(settings, ["a", "b"], 10) == 20
    with pytest.raises(InvalidInput, match="5, 10"):
        hold_amount(settings, ["a"], 3)


def test_the_sample_photo_is_deterministic_and_passes_intake() -> None:
    from liveai.images import IntakeLimits, prepare_image

    assert sample_photo() == sample_photo()
    prepared = prepare_image(sample_photo(), IntakeLimits())
    assert (prepared.width, prepared.height) == (1600, 1200)
