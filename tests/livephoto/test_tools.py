"""Our Live Photos and Motion Photos as exiftool and ffprobe read them.

Each test skips when the tool is missing locally and fails when it is missing in CI.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from liveai.livephoto import inspect, make_motion_photo, make_pair
from tests.livephoto.helpers import make_photo, make_video, run, tool

CID = "0B3C1E3A-6D1F-4C55-9E63-2D6B4E1D2C01"


def _apple_tag(exiftool: str) -> str:
    """exiftool named the MakerNote tag MediaGroupUUID from 12.19 to 12.64."""
    version = float(run(exiftool, "-ver").strip())
    return "MediaGroupUUID" if 12.19 <= version < 12.65 else "ContentIdentifier"


def _tags(exiftool: str, *args: str) -> dict[str, str]:
    lines = run(exiftool, "-s", *args).splitlines()
    return {
        key.strip(): value.strip()
        for key, _, value in (line.partition(":") for line in lines)
        if not key.startswith("=")
    }


@pytest.fixture
def pair_files(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    fmt, codec = request.param
    video = make_video(tmp_path / "v.mp4", codec=codec, frames=45)
    photo = make_photo(tmp_path / "p.jpg")
    pair = make_pair(
        video, photo, tmp_path / "out", still_format=fmt, still_time=1.0, content_id=CID
    )
    return pair.still, pair.video


SHAPES = [("heic", "libx264"), ("jpeg", "libx264"), ("heic", "libx265")]


@pytest.mark.parametrize("pair_files", SHAPES, indirect=True)
def test_exiftool_validates_both_files_and_reads_one_identifier(
    pair_files: tuple[Path, Path],
) -> None:
    exiftool = tool("exiftool")
    still, movie = pair_files
    for path in (still, movie):
        assert _tags(exiftool, "-validate", "-warning", "-a", str(path))["Validate"] == "OK"
    tag = _apple_tag(exiftool)
    assert _tags(exiftool, f"-Apple:{tag}", str(still))[tag] == CID
    assert _tags(exiftool, "-Keys:ContentIdentifier", str(movie))["ContentIdentifier"] == CID


@pytest.mark.parametrize("pair_files", SHAPES, indirect=True)
def test_ffprobe_sees_the_still_time_sample_and_the_video_decodes(
    pair_files: tuple[Path, Path],
) -> None:
    ffprobe, ffmpeg = tool("ffprobe"), tool("ffmpeg")
    _, movie = pair_files
    identifier = run(
        ffprobe,
        "-v",
        "error",
        "-show_entries",
        "format_tags=com.apple.quicktime.content.identifier",
        "-of",
        "default=nw=1:nk=1",
        str(movie),
    )
    assert identifier.strip() == CID
    stream = run(
        ffprobe,
        "-v",
        "error",
        "-select_streams",
        "d",
        "-show_entries",
        "stream=codec_tag_string",
        "-of",
        "default=nw=1:nk=1",
        str(movie),
    )
    assert stream.strip() == "mebx"
    packets = run(
        ffprobe,
        "-v",
        "error",
        "-select_streams",
        "d",
        "-show_entries",
        "packet=pts_time,size,data",
        "-show_data",
        "-of",
        "compact",
        str(movie),
    )
    assert "pts_time=1.000000" in packets and "size=9" in packets
    assert "0000 0009 0000 0001 ff" in packets
    codec = run(
        ffprobe,
        "-v",
        "error",
        "-select_streams",
        "v",
        "-show_entries",
        "stream=codec_tag_string",
        "-of",
        "default=nw=1:nk=1",
        str(movie),
    )
    assert codec.strip() in ("avc1", "hvc1")
    decoded = run(ffmpeg, "-v", "error", "-i", str(movie), "-map", "0:v", "-f", "null", "-")
    assert decoded == ""


@pytest.mark.parametrize("pair_files", [("jpeg", "libx264"), ("heic", "libx264")], indirect=True)
def test_exiftool_can_edit_our_maker_note(pair_files: tuple[Path, Path], tmp_path: Path) -> None:
    exiftool = tool("exiftool")
    still, movie = pair_files
    copy = tmp_path / f"copy{still.suffix}"
    shutil.copy(still, copy)
    other = "11111111-2222-3333-4444-555555555555"
    edited = run(exiftool, f"-{_apple_tag(exiftool)}={other}", str(copy))
    assert "1 image files updated" in edited
    assert _tags(exiftool, "-validate", "-warning", "-a", str(copy))["Validate"] == "OK"
    report = inspect([copy, movie])
    assert report.files[0].content_id == other
    assert not report.ok
    assert any("identifiers differ" in reason for reason in report.pairs[0].reasons)


def test_the_motion_photo_reads_back_and_its_tail_is_the_video(tmp_path: Path) -> None:
    exiftool, ffprobe = tool("exiftool"), tool("ffprobe")
    video = make_video(tmp_path / "v.mp4", frames=45)
    out = make_motion_photo(
        video, make_photo(tmp_path / "p.jpg"), tmp_path / "shot.MP.jpg", still_time=0.5
    )
    tags = _tags(exiftool, "-a", "-XMP-GCamera:all", "-XMP-Container:all", str(out))
    assert tags["MotionPhoto"] == "1" and tags["MotionPhotoVersion"] == "1"
    assert tags["MotionPhotoPresentationTimestampUs"] == "500000"
    lengths = run(exiftool, "-s3", "-a", "-XMP-Container:DirectoryItemLength", str(out)).split()
    length = int(lengths[-1])
    data = out.read_bytes()
    assert length == video.stat().st_size and data[-length:] == video.read_bytes()
    assert b"Apple iOS" not in data
    tail = tmp_path / "tail.mp4"
    tail.write_bytes(data[-length:])
    frames = run(
        ffprobe,
        "-v",
        "error",
        "-count_frames",
        "-select_streams",
        "v",
        "-show_entries",
        "stream=nb_read_frames",
        "-of",
        "default=nw=1:nk=1",
        str(tail),
    )
    assert frames.strip() == "45"
    assert re.match(r"^\xff\xd8", data[:2].decode("latin-1"))


def test_inspect_reads_an_identifier_exiftool_wrote_into_a_mov(tmp_path: Path) -> None:
    exiftool = tool("exiftool")
    movie = make_video(tmp_path / "plain.mov", container="mov")
    written = subprocess.run(
        [exiftool, f"-Keys:ContentIdentifier={CID}", str(movie)], capture_output=True, text=True
    )
    if "not defined" in written.stderr:
        pytest.skip(f"exiftool {run(exiftool, '-ver').strip()} cannot write Keys:ContentIdentifier")
    assert "1 image files updated" in written.stdout
    (facts,) = inspect([movie]).files
    assert facts.content_id == CID and facts.keys_in == "moov/meta"
    assert facts.problems == ["the video has no still-image-time (mebx) track"]


@pytest.mark.parametrize("pair_files", [("heic", "libx264")], indirect=True)
def test_a_mov_exiftool_rewrote_still_pairs(pair_files: tuple[Path, Path]) -> None:
    exiftool = tool("exiftool")
    still, movie = pair_files
    assert "1 image files updated" in run(exiftool, "-Keys:Title=edited", str(movie))
    assert _tags(exiftool, "-validate", "-warning", "-a", str(movie))["Validate"] == "OK"
    report = inspect([still, movie])
    assert report.ok, report.pairs
    assert report.files[1].still_time_s == 1.0
