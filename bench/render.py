"""The local renderer against ffmpeg's zoompan filter, same photo, same 5 s 1080p zoom.

Builds a ~20 MB 16:9 HEIC (5100x2868, noisy so it does not compress away, stored in 512 px
grid tiles as phones write them, so libheif decodes it on several threads), runs it through intake
(`prepare_image`) and the local renderer in a child process, and ffmpeg's zoompan on the
same normalised JPEG with the same encoder settings (libx264, veryfast, CRF 20, yuv420p,
30 fps, 150 frames). Prints both wall times, the ratio (target <= 1.0), and the peak
memory of the liveai child (target < 500 MB).

ffmpeg is looked up on PATH, or taken from $FFMPEG (Debian: `apt-get install -y ffmpeg`).

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
data = Path(sys.argv[1]).read_bytes()
start = time.perf_counter()
jpeg = prepare_image(data, IntakeLimits(max_bytes=10**9)).jpeg
video = render_mp4(jpeg, Motion.ZOOM_IN, 5, max_side=1920)
elapsed = time.perf_counter() - start
Path(sys.argv[2]).write_bytes(video)
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
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


def run_liveai(heic: Path, out: Path) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(heic), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, peak_mb = done.stdout.split()
    return float(seconds), float(peak_mb)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--megabytes", type=float, default=20.0)
    args = parser.parse_args()
    ffmpeg = os.environ.get("FFMPEG") or shutil.which("ffmpeg")
    if not ffmpeg:
        sys.exit("ffmpeg not found: install it (apt-get install -y ffmpeg) or set $FFMPEG")
    with tempfile.TemporaryDirectory() as folder:
        heic = make_heic(Path(folder) / "photo.heic", args.megabytes)
        print(f"input: {heic.stat().st_size / 1e6:.1f} MB HEIC")
        ours, peaks, theirs = [], [], []
        for _ in range(args.runs):
            seconds, peak = run_liveai(heic, Path(folder) / "liveai.mp4")
            ours.append(seconds)
            peaks.append(peak)
            theirs.append(run_ffmpeg(ffmpeg, heic.with_suffix(".jpg"), Path(folder) / "ff.mp4"))
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(f"liveai local renderer (intake + render): {ours_s:.2f} s median of {args.runs}")
    print(f"ffmpeg zoompan (baseline, same run):     {theirs_s:.2f} s median of {args.runs}")
    print(f"ratio: {ours_s / theirs_s:.2f} (target <= 1.0)")
    print(f"liveai peak memory: {max(peaks):.0f} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
