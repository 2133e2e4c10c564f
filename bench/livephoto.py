"""make_pair against a plain PyAV stream-copy remux of the same MP4 to MOV, in the same run.

Builds a 10 s 1080p H.264 MP4 (30 fps, with fine noise so it does not compress away), then times, in
alternation, `make_pair` (JPEG still and HEIC still, both from a 1920x1080 photo) and a PyAV
remux of the same file to MOV (packets copied, no re-encoding): the least work any tool
does to turn that MP4 into a MOV. Target: make_pair at most 1.2x the remux. For scale, the
same still through pillow-heif (libheif's x265, fast preset), which make_pair used before.

Then builds a 500 MB MP4 (the clip's packets repeated, stream-copied) and runs make_pair on
it in a child process that prints its own peak memory (VmHWM), next to the same figure for
a child that only imports liveai.livephoto and for one that remuxes it with PyAV.
Target: under 150 MB.

    python bench/livephoto.py [--runs 5] [--big-mb 500]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PEAK = """
def peak_mb():
    # VmHWM belongs to this process image alone (ru_maxrss would include the fork it came from)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""
MAKE_PAIR = (
    PEAK
    + """
import sys
from pathlib import Path
from liveai.livephoto import make_pair
video, photo, out = (Path(arg) for arg in sys.argv[1:4])
make_pair(video, photo, out, still_format=sys.argv[4])
print(peak_mb())
"""
)
REMUX = (
    PEAK
    + """
import sys
sys.path.insert(0, sys.argv[3])
from livephoto import remux
remux(sys.argv[1], sys.argv[2])
print(peak_mb())
"""
)
IMPORT_ONLY = PEAK + "import liveai.livephoto\nprint(peak_mb())"


def make_clip(path: Path, seconds: int = 10) -> Path:
    """A 1080p H.264 clip at 20 Mbit/s: a moving gradient under fine noise."""
    import av
    import numpy as np

    rng = np.random.default_rng(7)
    noise = rng.integers(0, 24, (8, 1080, 1920, 3), dtype=np.uint8)
    ramp = np.linspace(0, 200, 1920, dtype=np.float32)
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        stream.bit_rate = 20_000_000  # about an iPhone's 1080p rate
        for n in range(seconds * 30):
            row = ((ramp + 4 * n) % 200).astype(np.uint8)
            pixels = noise[n % 8] + row[None, :, None]
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def repeat_clip(source: Path, target: Path, megabytes: int) -> Path:
    """The clip's packets again and again (each copy starts on a keyframe) to `megabytes`."""
    import av

    with av.open(str(source)) as given, av.open(str(target), "w", format="mp4") as output:
        template = given.streams.video[0]
        stream = output.add_stream_from_template(template)
        packets = [p for p in given.demux(template) if p.dts is not None]
        span = max(p.pts for p in packets) + packets[0].duration - min(p.pts for p in packets)
        written, round_ = 0, 0
        while written < megabytes * 1_000_000:
            for packet in packets:
                copy = av.Packet(bytes(packet))
                copy.pts, copy.dts = packet.pts + round_ * span, packet.dts + round_ * span
                copy.duration, copy.time_base = packet.duration, packet.time_base
                copy.is_keyframe = packet.is_keyframe
                copy.stream = stream
                output.mux(copy)
                written += packet.size
            round_ += 1
    return target


def remux(source: str, target: str) -> None:
    """The baseline: PyAV stream copy of every packet into a MOV."""
    import av

    with av.open(source) as given, av.open(target, "w", format="mov") as output:
        template = given.streams.video[0]
        stream = output.add_stream_from_template(template)
        for packet in given.demux(template):
            if packet.dts is None:
                continue
            packet.stream = stream
            output.mux(packet)


def mov_only(clip: Path, target: Path) -> None:
    """What make_pair does to the video, without the still."""
    from liveai.livephoto.movread import read_movie
    from liveai.livephoto.movwrite import write_live_mov

    target.parent.mkdir(parents=True, exist_ok=True)
    movie = read_movie(clip)
    with clip.open("rb") as source, target.open("wb") as out:
        write_live_mov(movie, source, out, "CEEE58DF-95FE-4D41-8B9A-F0AF1103A2DC", 0)


def libheif_still(photo: Path) -> None:
    """For comparison: the same cropped still through pillow-heif, as make_pair used to."""
    import io

    import pillow_heif
    from PIL import Image

    with Image.open(photo) as opened:
        still = opened.convert("RGB").crop((0, 150, 1600, 1050))
    pillow_heif.from_pillow(still).save(io.BytesIO(), quality=90, enc_params={"preset": "fast"})


def make_photo(path: Path) -> Path:
    """The bundled 1600x1200 sample photo (a 4:3 photo: make_pair crops it to 16:9)."""
    from liveai.generation.sample import sample_photo

    path.write_bytes(sample_photo())
    return path


def timed(step: Callable[..., object], *args: object, **kwargs: object) -> float:
    start = time.perf_counter()
    step(*args, **kwargs)
    return time.perf_counter() - start


def child(code: str, *args: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-mb", type=int, default=500)
    args = parser.parse_args()
    from liveai.livephoto import make_pair

    with tempfile.TemporaryDirectory(prefix="bench-livephoto-") as work:
        root = Path(work)
        clip = make_clip(root / "clip.mp4")
        photo = make_photo(root / "photo.jpg")
        print(f"input: 10 s 1080p H.264, {clip.stat().st_size / 1e6:.1f} MB")
        remuxes: list[float] = []
        movs: list[float] = []
        jpegs: list[float] = []
        heics: list[float] = []
        libheifs: list[float] = []
        for run in range(args.runs):
            out = root / str(run)
            remuxes.append(timed(remux, str(clip), str(out) + ".mov"))
            movs.append(timed(mov_only, clip, out / "m.MOV"))
            jpegs.append(timed(make_pair, clip, photo, out / "j", still_format="jpeg"))
            heics.append(timed(make_pair, clip, photo, out / "h", still_format="heic"))
            libheifs.append(timed(libheif_still, photo))
        base = statistics.median(remuxes)
        print(f"PyAV stream-copy remux to MOV (baseline): {base * 1000:7.1f} ms (median)")
        rows = (
            ("pillow-heif (libheif) on the same still", libheifs),
            ("the MOV alone (read + write_live_mov)", movs),
            ("make_pair, JPEG still", jpegs),
            ("make_pair, HEIC still", heics),
        )
        for name, times in rows:
            median = statistics.median(times)
            print(f"{name:40s}: {median * 1000:7.1f} ms  ratio {median / base:.2f}x")

        big = repeat_clip(clip, root / "big.mp4", args.big_mb)
        here = str(Path(__file__).resolve().parent)
        size = big.stat().st_size / 1e6
        print(f"peak memory (VmHWM) on a {size:.0f} MB input:")
        for fmt in ("jpeg", "heic"):
            peak = child(MAKE_PAIR, str(big), str(photo), str(root / fmt), fmt)
            print(f"  make_pair ({fmt.upper()} still)       : {peak:6.1f} MB (< 150)")
        remux_peak = child(REMUX, str(big), str(root / "br.mov"), here)
        print(f"  import liveai.livephoto only : {child(IMPORT_ONLY):6.1f} MB")
        print(f"  PyAV stream-copy remux       : {remux_peak:6.1f} MB")


if __name__ == "__main__":
    main()
