"""The generate, tasks and worker commands on the embedded default (local renderer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from tests.conftest import Cli
from tests.generation.helpers import photo


@pytest.fixture(autouse=True)
def small_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEAI_RENDER_MAX_SIDE", "96")


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_generate_the_sample_on_a_fresh_machine(cli_embedded: Cli, tmp_path: Path) -> None:
    result = cli_embedded("generate", "--sample", "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.stderr
    shown = _json(result)
    assert shown["state"] == "succeeded" and shown["provider"] == "local"
    assert shown["charged"] == 10 and shown["transfers"] == []
    video, poster = (Path(p) for p in shown["files"])
    assert video.read_bytes()[4:8] == b"ftyp" and poster.read_bytes()[:2] == b"\xff\xd8"

    listed = _json(cli_embedded("tasks", "list", "--json"))
    assert [t["id"] for t in listed] == [shown["id"]]
    assert _json(cli_embedded("tasks", "show", shown["id"], "--json"))["state"] == "succeeded"

    assert cli_embedded("tasks", "delete", shown["id"]).exit_code == 1  # no terminal, no --yes
    assert cli_embedded("tasks", "delete", shown["id"], "--yes").exit_code == 0
    assert _json(cli_embedded("tasks", "list", "--json")) == []
    assert cli_embedded("tasks", "show", shown["id"]).exit_code == 3


def test_queued_tasks_are_finished_by_resume_and_by_a_worker(
    cli_embedded: Cli, tmp_path: Path
) -> None:
    image = tmp_path / "p.png"
    image.write_bytes(photo(400, 320, "PNG"))
    ids = []
    for motion in ("pan_left", "roll_cw"):
        result = cli_embedded("generate", str(image), "--motion", motion, "--no-wait", "--json")
        assert result.exit_code == 0, result.stderr
        ids.append(_json(result)["id"])
    assert _json(cli_embedded("tasks", "show", ids[0], "--json"))["state"] == "queued"

    resumed = cli_embedded("tasks", "resume", "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert sorted(_json(resumed)["finished"]["succeeded"]) == sorted(ids)

    cli_embedded("generate", str(image), "--no-wait")
    worked = cli_embedded("worker", "--once", "--concurrency", "2")
    assert worked.exit_code == 0 and "1 task(s) finished" in worked.stderr
    states = [t["state"] for t in _json(cli_embedded("tasks", "list", "--json"))]
    assert states == ["succeeded"] * 3


def test_cancel_a_queued_task_returns_its_credits(cli_embedded: Cli, tmp_path: Path) -> None:
    image = tmp_path / "p.jpg"
    image.write_bytes(photo())
    task_id = _json(cli_embedded("generate", str(image), "--no-wait", "--json"))["id"]
    result = cli_embedded("tasks", "cancel", task_id)
    assert result.exit_code == 0 and "cancelled" in result.stderr
    shown = _json(cli_embedded("tasks", "show", task_id, "--json"))
    assert shown["state"] == "cancelled" and shown["charged"] == 0
    assert cli_embedded("tasks", "cancel", task_id).exit_code == 1


def test_refusals_have_their_exit_codes(
    cli_embedded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = tmp_path / "p.jpg"
    image.write_bytes(photo())
    assert cli_embedded("generate", str(image), "--motion", "spin").exit_code == 2
    assert cli_embedded("generate", str(image), "--duration", "7").exit_code == 2
    assert cli_embedded("generate", str(tmp_path / "missing.jpg")).exit_code == 2
    assert cli_embedded("generate", str(image), "--provider", "kling").exit_code == 2
    assert cli_embedded("generate", str(image), "--user", "nobody").exit_code == 3
    assert cli_embedded("tasks", "list", "--state", "odd").exit_code == 2
    monkeypatch.setenv("LIVEAI_DEV_GRANT_CREDITS", "5")
    result = cli_embedded("generate", str(image))
    assert result.exit_code == 5 and "credit" in result.stderr.lower()


def test_a_batch_runs_once_and_skips_what_is_done(cli_embedded: Cli, tmp_path: Path) -> None:
    for name in ("a.jpg", "b.png"):
        (tmp_path / name).write_bytes(photo(360, 360, "PNG" if name.endswith("png") else "JPEG"))
    manifest = tmp_path / "shots.csv"
    manifest.write_text("image,prompt,motion,duration\na.jpg,sunrise,zoom_out,5\nb.png,,tilt_up,\n")
    first = cli_embedded("generate", "batch", str(manifest), "--concurrency", "2", "--json")
    assert first.exit_code == 0, first.stderr
    assert [r["state"] for r in _json(first)] == ["succeeded", "succeeded"]

    again = cli_embedded("generate", "batch", str(manifest), "--json")
    assert [r["state"] for r in _json(again)] == ["skipped", "skipped"]
    assert len(_json(cli_embedded("tasks", "list", "--json"))) == 2

    lines = tmp_path / "shots.jsonl"
    lines.write_text('{"image": "a.jpg", "motion": "warp"}\n')
    assert cli_embedded("generate", "batch", str(lines)).exit_code == 2


def test_provider_auto_is_the_configured_order(cli_embedded: Cli, tmp_path: Path) -> None:
    image = tmp_path / "p.jpg"
    image.write_bytes(photo())
    out = str(tmp_path / "out")
    result = cli_embedded("generate", str(image), "--provider", "auto", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    shown = _json(result)
    assert shown["state"] == "succeeded" and shown["provider"] == "local"
    manifest = tmp_path / "shots.csv"
    manifest.write_text("image,provider\np.jpg,auto\n")
    batch = cli_embedded("generate", "batch", str(manifest), "--json")
    assert batch.exit_code == 0, batch.stderr
    assert [r["state"] for r in _json(batch)] == ["succeeded"]
