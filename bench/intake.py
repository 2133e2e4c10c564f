"""Photo intake on a big camera photo next to the plainest Pillow conversion of it.

Makes an iPhone-sized photo (default 8064 x 6048, 48 MP: HEIC, and the same as JPEG with
a GPS/rotation EXIF block), then times, each in a fresh process, `prepare_image` and a
baseline that only decodes and re-encodes to JPEG at full size (`Image.open`, `convert`,
`save`: no checks, no rotation, no metadata stripping, no size cap). Prints the median
wall and CPU time and the peak resident memory of each, and the ratios.

    python bench/intake.py [--width 8064 --height 6048] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_photo(width: int, height: int) -> object:
    from PIL import Image, ImageFilter

    # Smooth noise: detailed enough to compress like a photo, not like a flat colour.
    noise = Image.frombytes("RGB", (width // 8, height // 8), os.urandom(width * height * 3 // 64))
    return noise.resize((width, height), Image.Resampling.BICUBIC).filter(ImageFilter.DETAIL)


def write_inputs(folder: Path, width: int, height: int) -> dict[str, Path]:
    import pillow_heif
    from PIL import ExifTags, Image

    pillow_heif.register_heif_opener()
    image = make_photo(width, height)
    assert isinstance(image, Image.Image)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N"}
    paths = {"heic": folder / "photo.heic", "jpeg": folder / "photo.jpg"}
    image.save(paths["heic"], "HEIF", quality=90)
    image.save(paths["jpeg"], "JPEG", quality=95, exif=exif)
    return paths


def peak_rss_mb() -> float:
    """This process's peak resident memory since exec (ru_maxrss would count the parent's)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(kind: str, path: Path) -> None:
    """In a child process: do one conversion, print its wall time and peak RSS."""
    data = path.read_bytes()
    start, cpu_start = time.perf_counter(), time.process_time()
    if kind == "intake":
        from liveai.images import IntakeLimits, prepare_image

        size = len(prepare_image(data, IntakeLimits(max_bytes=10**9)).jpeg)
    else:
        import pillow_heif
        from PIL import Image

        pillow_heif.register_heif_opener()
        Image.MAX_IMAGE_PIXELS = None
        out = io.BytesIO()
        with Image.open(io.BytesIO(data)) as image:
            image.convert("RGB").save(out, "JPEG", quality=90)
        size = len(out.getvalue())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_rss_mb(), "out": size}))


def measure(kind: str, path: Path, runs: int) -> tuple[float, float, float]:
    results = []
    for _ in range(runs):
        argv = [sys.executable, __file__, "--one", kind, str(path)]
        done = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT)
        results.append(json.loads(done.stdout))
    return (
        statistics.median(r["seconds"] for r in results),
        statistics.median(r["cpu"] for r in results),
        max(r["peak_mb"] for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=8064)
    parser.add_argument("--height", type=int, default=6048)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one[0], Path(args.one[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_inputs(Path(tmp), args.width, args.height)
        for source, path in paths.items():
            mb = path.stat().st_size / 1e6
            intake_s, intake_cpu, intake_mb = measure("intake", path, args.runs)
            base_s, base_cpu, base_mb = measure("baseline", path, args.runs)
            print(
                f"{source} {args.width}x{args.height} ({mb:.1f} MB): "
                f"intake {intake_s:.2f} s wall, {intake_cpu:.2f} s CPU, {intake_mb:.0f} MB peak"
                f" | baseline Pillow re-encode {base_s:.2f} s wall, {base_cpu:.2f} s CPU, "
                f"{base_mb:.0f} MB peak | ratios: wall {intake_s / base_s:.2f}, "
                f"CPU {intake_cpu / base_cpu:.2f}, memory {intake_mb / base_mb:.2f}"
            )


if __name__ == "__main__":
    main()
