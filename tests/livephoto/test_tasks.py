"""Live Photo pairs from generation: remote results, the local renderer, batches, from-task."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from typer.testing import Result

from liveai.clock import FixedClock
from liveai.db import Database, make_engine
from liveai.livephoto import inspect
from liveai.livephoto.from_task import pair_from_task
from liveai.livephoto.movread import read_movie
from liveai.models import TaskState, Upload
from liveai.storage import LocalStorage
from tests.conftest import Cli
from tests.fakes.video_provider import serve
from tests.generation.helpers import START, Rig, photo, providers_for, rig_settings


@pytest.fixture(autouse=True)
def small_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEAI_RENDER_MAX_SIDE", "96")


@pytest.fixture
def rig(sqlite_template: Path, tmp_path: Path) -> Iterator[Rig]:
    path = tmp_path / "gen.db"
    shutil.copy(sqlite_template, path)
    database = Database(make_engine(f"sqlite:///{path}"))
    with serve() as remote, httpx.Client(timeout=2) as client:
        yield Rig(
            database=database,
            settings=rig_settings(tmp_path, provider_order="a"),
            storage=LocalStorage(tmp_path / "storage"),
            clock=FixedClock(START),
            client=client,
            providers=providers_for(client, {"a": remote.url}),
        )
    database.close()


def test_a_remote_providers_result_becomes_a_pair_with_the_photo_as_still(
    rig: Rig, tmp_path: Path
) -> None:
    task = rig.create(rig.user(), image=photo(640, 640), duration_s=5)
    done = rig.lifecycle().run(task.id)
    assert done.state is TaskState.SUCCEEDED and done.provider == "a"
    with rig.database.transaction() as session:
        pair = pair_from_task(session, rig.storage, done, tmp_path / "lp", still_format="jpeg")
    assert pair.still.name == f"{done.id}-live.JPG" and pair.video.name == f"{done.id}-live.MOV"
    assert pair.still_time_s == 0
    video = read_movie(pair.video).video()
    with Image.open(pair.still) as still:
        assert still.size[0] == 640  # the square photo, cropped to the video's aspect
        assert abs(still.size[0] / still.size[1] - video.width / video.height) < 0.01
    assert inspect([pair.still, pair.video]).ok


def test_without_the_photo_the_first_frame_is_the_still(rig: Rig, tmp_path: Path) -> None:
    task = rig.create(rig.user(), duration_s=5)
    done = rig.lifecycle().run(task.id)
    with rig.database.transaction() as session:
        upload = session.get_one(Upload, done.upload_id)
        rig.storage.delete(upload.storage_key)
        pair = pair_from_task(session, rig.storage, done, tmp_path / "lp")
    video = read_movie(pair.video).video()
    assert (pair.width, pair.height) == (video.width, video.height)
    assert inspect([pair.still, pair.video]).ok


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_generate_sample_live_photo_on_a_fresh_machine(cli_embedded: Cli, tmp_path: Path) -> None:
    out = tmp_path / "lp"
    result = cli_embedded(
        "generate", "--sample", "--live-photo", "--duration", "3", "--out", str(out), "--json"
    )
    assert result.exit_code == 0, result.stderr
    shown = _json(result)
    assert shown["charged"] == 6  # the local renderer's 3 s price
    names = sorted(Path(f).name for f in shown["files"])
    task = shown["id"]
    assert names == [f"{task}-live.HEIC", f"{task}-live.MOV", f"{task}.jpg", f"{task}.mp4"]
    assert sorted(p.name for p in out.iterdir()) == names  # no temporary files left
    movie = out / f"{task}-live.MOV"
    assert read_movie(movie).duration_s == pytest.approx(3.0, abs=0.05)
    checked = cli_embedded("livephoto", "inspect", str(out / f"{task}-live.HEIC"), str(movie))
    assert checked.exit_code == 0 and ": pairs" in checked.stdout

    again = cli_embedded(
        "livephoto",
        "from-task",
        task,
        "--out",
        str(tmp_path / "again"),
        "--format",
        "jpeg",
        "--json",
    )
    assert again.exit_code == 0, again.stderr
    assert _json(again)["still"].endswith(f"{task}-live.JPG")
    queued_only = cli_embedded("generate", "--sample", "--live-photo", "--no-wait")
    assert queued_only.exit_code == 2 and "from-task" in queued_only.stderr
    missing = cli_embedded(
        "livephoto",
        "from-task",
        "7d0c6f7e-1f0e-4a43-9d3b-2f6f1b9c2a10",
        "--out",
        str(tmp_path / "x"),
    )
    assert missing.exit_code == 3


def test_batch_writes_pairs_for_live_photo_lines(cli_embedded: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(photo(400, 300))
    (tmp_path / "b.jpg").write_bytes(photo(300, 400))
    manifest = tmp_path / "shots.csv"
    manifest.write_text("image,duration,live_photo\na.jpg,3,yes\nb.jpg,3,\n")
    refused = cli_embedded("generate", "batch", str(manifest))
    assert refused.exit_code == 2 and "--out" in refused.stderr
    out = tmp_path / "out"
    result = cli_embedded("generate", "batch", str(manifest), "--out", str(out), "--json")
    assert result.exit_code == 0, result.stdout
    first, second = _json(result)
    assert [Path(f).suffix for f in first["files"]] == [".mp4", ".jpg", ".HEIC", ".MOV"]
    assert [Path(f).suffix for f in second["files"]] == [".mp4", ".jpg"]
    assert inspect([Path(first["files"][2]), Path(first["files"][3])]).ok
    manifest.write_text("image,live_photo\na.jpg,maybe\n")
    bad = cli_embedded("generate", "batch", str(manifest), "--out", str(out))
    assert bad.exit_code == 2 and "not yes or no" in bad.stderr
