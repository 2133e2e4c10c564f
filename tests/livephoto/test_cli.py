"""`liveai livephoto`: make, inspect (with each reason a pair fails), motion, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from typer.testing import Result

from liveai.livephoto import make_pair
from liveai.livephoto.movread import CONTENT_ID_KEY, read_movie
from liveai.livephoto.tiff import apple_maker_note
from tests.conftest import Cli
from tests.livephoto.helpers import make_photo, make_video

CID = "7A1C2E4B-0D3F-4A5B-8C6D-9E0F1A2B3C4D"


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_make_then_inspect_a_pair(cli_embedded: Cli, tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4")
    photo = make_photo(tmp_path / "p.jpg")
    made = cli_embedded(
        "livephoto",
        "make",
        str(video),
        "--still",
        str(photo),
        "--out",
        str(tmp_path / "lp"),
        "--format",
        "jpeg",
        "--still-at",
        "0.5",
        "--json",
    )
    assert made.exit_code == 0, made.stderr
    shown = _json(made)
    assert shown["still"].endswith("clip.JPG") and shown["video"].endswith("clip.MOV")
    assert shown["still_time_s"] == 0.5 and shown["codec"] == "h264"
    checked = cli_embedded("livephoto", "inspect", shown["still"], shown["video"], "--json")
    assert checked.exit_code == 0, checked.stdout
    report = _json(checked)
    assert report["ok"] and report["pairs"][0]["pairs"]
    assert {f["content_id"] for f in report["files"]} == {shown["content_id"]}
    text = cli_embedded("livephoto", "inspect", shown["still"], shown["video"])
    assert "clip.JPG + clip.MOV: pairs" in text.stdout
    alone = cli_embedded("livephoto", "inspect", shown["video"])  # one file, nothing wrong
    assert alone.exit_code == 0, alone.stdout
    plain = cli_embedded("livephoto", "inspect", str(video))  # an MP4 that could not pair
    assert plain.exit_code == 1
    assert "  - the video has no content identifier (moov/meta key)" in plain.stdout
    assert _json(cli_embedded("livephoto", "inspect", str(video), "--json"))["ok"] is False


def _pair(tmp_path: Path, name: str, **kwargs: object) -> tuple[Path, Path]:
    video = make_video(tmp_path / f"{name}.mp4", **kwargs)  # type: ignore[arg-type]
    pair = make_pair(
        video,
        make_photo(tmp_path / f"{name}.jpg"),
        tmp_path / name,
        still_format="jpeg",
        content_id=CID if name == "same" else None,
    )
    return pair.still, pair.video


def _reasons(cli: Cli, *paths: Path) -> list[str]:
    result = cli("livephoto", "inspect", *map(str, paths), "--json")
    assert result.exit_code == 1, result.stdout + result.stderr
    (verdict,) = _json(result)["pairs"]
    assert verdict["pairs"] is False
    reasons: list[str] = verdict["reasons"]
    return reasons


def test_inspect_names_identifiers_that_differ(cli_embedded: Cli, tmp_path: Path) -> None:
    still, _ = _pair(tmp_path, "a")
    _, other_video = _pair(tmp_path, "b")
    (reason,) = _reasons(cli_embedded, still, other_video)
    assert reason.startswith("the content identifiers differ")


def test_inspect_names_a_maker_note_typed_byte(cli_embedded: Cli, tmp_path: Path) -> None:
    _, video = _pair(tmp_path, "same")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x927C] = apple_maker_note(CID)  # Pillow writes it as BYTE
    with Image.open(make_photo(tmp_path / "raw.jpg")) as image:
        image.save(tmp_path / "byte.jpg", exif=exif.tobytes())
    reasons = _reasons(cli_embedded, tmp_path / "byte.jpg", video)
    assert reasons == ["the still's MakerNote is typed BYTE, not UNDEFINED (7)"]


def test_inspect_names_keys_only_in_udta_and_no_still_time_track(
    cli_embedded: Cli, tmp_path: Path
) -> None:
    still, _ = _pair(tmp_path, "same")
    source = make_video(tmp_path / "src.mp4")
    ffmpeg_style = tmp_path / "ffmpeg.mov"
    with (
        av.open(str(source)) as given,
        av.open(
            str(ffmpeg_style), "w", format="mov", options={"movflags": "use_metadata_tags"}
        ) as out,
    ):
        out.metadata["com.apple.quicktime.content.identifier"] = CID
        stream = out.add_stream_from_template(given.streams.video[0])
        for packet in given.demux(given.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    reasons = _reasons(cli_embedded, still, ffmpeg_style)
    assert any("only in moov/udta/meta" in reason for reason in reasons)
    assert "the video has no still-image-time (mebx) track" in reasons
    assert not any("differ" in reason for reason in reasons)

    remade = make_pair(ffmpeg_style, None, tmp_path / "remade")
    movie = read_movie(remade.video)
    assert CONTENT_ID_KEY not in movie.udta_keys  # no second, stale identifier
    assert movie.meta_keys[CONTENT_ID_KEY] == remade.content_id.encode()


def test_inspect_names_an_aspect_mismatch(cli_embedded: Cli, tmp_path: Path) -> None:
    still, _ = _pair(tmp_path, "same")
    wide = make_video(tmp_path / "wide.mp4", width=320, height=180)
    moved = make_pair(wide, None, tmp_path / "wide", content_id=CID)
    reasons = _reasons(cli_embedded, still, moved.video)
    assert reasons == ["the aspects differ: still 400x300, video 320x180"]


def test_motion_writes_a_motion_photo(cli_embedded: Cli, tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4")
    out = tmp_path / "shot.MP.jpg"
    made = cli_embedded("livephoto", "motion", str(video), "--out", str(out), "--json")
    assert made.exit_code == 0, made.stderr
    assert _json(made)["bytes"] == out.stat().st_size
    assert out.read_bytes().endswith(video.read_bytes())
    wrong = cli_embedded("livephoto", "motion", str(video), "--out", str(tmp_path / "shot.jpg"))
    assert wrong.exit_code == 2 and "not a Motion Photo name" in wrong.stderr


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    photo = make_photo(tmp_path / "p.jpg")
    good = make_video(tmp_path / "good.mp4")
    data = good.read_bytes()
    mpeg4 = make_video(tmp_path / "mpeg4.mp4", codec="mpeg4")
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    moov = data.index(b"moov") - 4
    (tmp_path / "no-moov.mp4").write_bytes(data[:moov])
    (tmp_path / "empty.mp4").write_bytes(b"")
    stco = data.index(b"stco") + 12  # the first chunk offset, pointed past every mdat
    count = data.index(b"stco") + 8  # more chunks claimed than the table holds
    (tmp_path / "short-table.mp4").write_bytes(
        data[:count] + b"\x00\x01\x00\x00" + data[count + 4 :]
    )
    (tmp_path / "bad-offset.mp4").write_bytes(data[:stco] + b"\x7f\xff\xff\xff" + data[stco + 4 :])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    audio = tmp_path / "audio.mp4"
    with av.open(str(audio), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.sample_rate = 48000
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    (tmp_path / "afile").write_text("in the way")
    return {
        "not h264": ([str(mpeg4)], "not H.264 or HEVC"),
        "truncated": ([str(tmp_path / "truncated.mp4")], "past the end"),
        "no moov": ([str(tmp_path / "no-moov.mp4")], "has no moov box"),
        "empty": ([str(tmp_path / "empty.mp4")], "is empty"),
        "chunk table cut short": (
            [str(tmp_path / "short-table.mp4"), "--still", str(photo)],
            "chunk offset table is cut short",
        ),
        "offset outside mdat": (
            [str(tmp_path / "bad-offset.mp4"), "--still", str(photo)],
            "outside every mdat",
        ),
        "bad still": ([str(good), "--still", str(tmp_path / "broken.jpg")], "cannot decode"),
        "no video": ([str(audio)], "has no video track"),
        "out is a file": (
            [str(good), "--still", str(photo), "--out", str(tmp_path / "afile")],
            "exists and is a file",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not h264",
        "truncated",
        "no moov",
        "empty",
        "offset outside mdat",
        "chunk table cut short",
        "bad still",
        "no video",
        "out is a file",
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    cli_embedded: Cli, tmp_path: Path, case: str
) -> None:
    args, message = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out"
    out.mkdir()
    if "--out" not in args:
        args = [*args, "--out", str(out)]
    result = cli_embedded("livephoto", "make", *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(out.iterdir()) == []


def test_inspect_of_an_unreadable_file_is_exit_2(cli_embedded: Cli, tmp_path: Path) -> None:
    (tmp_path / "x.mov").write_bytes(b"\x00\x00\x10\x00moov")
    result = cli_embedded("livephoto", "inspect", str(tmp_path / "x.mov"))
    assert result.exit_code == 2 and "past the end" in result.stderr
    (tmp_path / "notes.jpg").write_text("not an image at all\n")
    text = cli_embedded("livephoto", "inspect", str(tmp_path / "notes.jpg"))
    assert text.exit_code == 2
    assert text.stderr.strip().splitlines() == [
        "error: notes.jpg is not a JPEG, HEIC, MOV or MP4 (pass a Live Photo's still and MOV)"
    ]
