"""The local renderer against ffmpeg's zoompan filter, same photo, same 5 s 1080p zoom.

Builds a ~20 MB 16:9 HEIC (5100x2868, noisy so it does not compress away, stored in 512 px
grid tiles as phones write them, so libheif decodes it on several threads) and its normalised
JPEG (`prepare_image`, as intake stores it when a task is created). Each run then:

- in a fresh child process, runs intake on the HEIC (timed and printed on its own), then
  times `render_mp4` on the JPEG file, read from disk: what the `local` provider does with
  the JPEG intake made;
- times ffmpeg's zoompan on the same JPEG file with the same encoder settings (libx264,
  veryfast, CRF 20, yuv420p, 30 fps, 150 frames), from process start to exit.

The ratio is render over ffmpeg (target <= 1.0). The peak memory is the child's, and so
covers intake of the HEIC and the render (target < 500 MB).

ffmpeg is taken from $FFMPEG, else PATH (Debian: `apt-get install -y ffmpeg`), else the
static build of the imageio-ffmpeg package if it is installed (`pip install imageio-ffmpeg`).

    python bench/render.py [--runs 3] [--megabytes 20]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import resource, sys, time
from pathlib import Path
from liveai.images import IntakeLimits, prepare_image
from liveai.providers.base import Motion
from liveai.providers.render import render_mp4
heic, jpeg, out = (Path(arg) for arg in sys.argv[1:4])
data = heic.read_bytes()
start = time.perf_counter()
prepare_image(data, IntakeLimits(max_bytes=10**9))
intake = time.perf_counter() - start
del data
start = time.perf_counter()
video = render_mp4(jpeg.read_bytes(), Motion.ZOOM_IN, 5, max_side=1920)
render = time.perf_counter() - start
out.write_bytes(video)
print(intake, render, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def make_heic(path: Path, megabytes: float) -> Path:
    """A noisy 16:9 HEIC of about the wanted size (in 512 px tiles, as an iPhone writes it),
    and its normalised JPEG next to it."""
    import pillow_heif
    from PIL import Image, ImageFilter

    from liveai.images import IntakeLimits, prepare_image

    # Fine noise is what makes a HEIC big; its size grows with the pixel count
    # (5100x2868 at quality 95 is 20.0 MB).
    side = int(5100 * min(2.0, max(0.5, (megabytes / 20) ** 0.5)))
    width, height = side, side * 9 // 16
    noise = Image.effect_noise((width, height), 60).filter(ImageFilter.GaussianBlur(0.5))
    image = Image.merge("RGB", (noise, noise.transpose(Image.Transpose.ROTATE_180), noise))
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=95, format="HEIF", tile_size=512)
    path.write_bytes(buffer.getvalue())
    jpeg = prepare_image(buffer.getvalue(), IntakeLimits(max_bytes=10**9)).jpeg
    path.with_suffix(".jpg").write_bytes(jpeg)
    return path


def run_liveai(heic: Path, out: Path) -> tuple[float, float, float]:
    """Seconds of intake, seconds of the render from the JPEG, and the child's peak MB."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(heic), str(heic.with_suffix(".jpg")), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    intake, render, peak_mb = done.stdout.split()
    return float(intake), float(render), float(peak_mb)


def run_ffmpeg(ffmpeg: str, jpeg: Path, out: Path) -> float:
    zoom = (
        "zoompan=z='1+0.3*(0.5-0.5*cos(PI*on/149))':d=150:fps=30:s=1920x1080"
        ":x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
    )
    argv = [ffmpeg, "-v", "error", "-y", "-i", str(jpeg), "-vf", zoom, "-frames:v", "150"]
    argv += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
    start = time.perf_counter()
    subprocess.run([*argv, str(out)], check=True)
    return time.perf_counter() - start


def bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found]
    except ImportError:
        return None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--megabytes", type=float, default=20.0)
    args = parser.parse_args()
    ffmpeg = os.environ.get("FFMPEG") or shutil.which("ffmpeg") or bundled_ffmpeg()
    if not ffmpeg:
        sys.exit(
            "ffmpeg not found: install it (apt-get install -y ffmpeg or pip install"
            " imageio-ffmpeg) or set $FFMPEG"
        )
    with tempfile.TemporaryDirectory() as folder:
        heic = make_heic(Path(folder) / "photo.heic", args.megabytes)
        print(f"input: {heic.stat().st_size / 1e6:.1f} MB HEIC")
        intakes, ours, peaks, theirs = [], [], [], []
        for _ in range(args.runs):
            intake, render, peak = run_liveai(heic, Path(folder) / "liveai.mp4")
            intakes.append(intake)
            ours.append(render)
            peaks.append(peak)
            theirs.append(run_ffmpeg(ffmpeg, heic.with_suffix(".jpg"), Path(folder) / "ff.mp4"))
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    runs = f"median of {args.runs}"
    print(f"intake of the HEIC (not in the ratio):  {statistics.median(intakes):.2f} s {runs}")
    print(f"liveai render_mp4 from the JPEG:         {ours_s:.2f} s {runs}")
    print(f"ffmpeg zoompan from the JPEG (same run): {theirs_s:.2f} s {runs}")
    print(f"ratio: {ours_s / theirs_s:.2f} (target <= 1.0)")
    print(f"liveai peak memory, intake + render: {max(peaks):.0f} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
