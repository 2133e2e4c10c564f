"""The scripting facade, batch results reaching the developer, and moderation everywhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import liveai
from liveai.errors import InsufficientCredits
from liveai.generation.sample import sample_photo
from tests.conftest import Cli


def test_import_liveai_stays_light() -> None:
    probe = (
        "import sys, liveai\n"
        "print(sorted(m for m in ('sqlalchemy', 'pydantic', 'httpx', 'av', 'PIL') "
        "if m in sys.modules))\n"
        "print(callable(liveai.generate))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.splitlines() == ["[]", "True"], result.stderr


def test_generate_runs_the_whole_lifecycle(isolated_env: Path, tmp_path: Path) -> None:
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(sample_photo())
    result = liveai.generate(photo, prompt="the cat blinks", out=tmp_path / "videos")
    assert result.ok and result.state == "succeeded" and result.charged == 10
    assert result.video == tmp_path / "videos" / f"{result.task_id}.mp4"
    assert result.video.read_bytes()[4:8] == b"ftyp"
    assert result.poster is not None and result.poster.read_bytes()[:2] == b"\xff\xd8"


def test_generate_many_keeps_order_and_names_refusals(isolated_env: Path, tmp_path: Path) -> None:
    results = liveai.generate_many([sample_photo(), b"not a photo"], out=None, concurrency=2)
    assert [r.state for r in results] == ["succeeded", "refused"]
    assert results[0].video is None
    assert results[1].error is not None and "JPEG" in results[1].error


def test_the_development_hint_names_the_grant_command(
    cli_embedded: Cli, isolated_env: Path
) -> None:
    liveai.generate(sample_photo(), out=None)
    assert cli_embedded("credits", "revoke", "developer", "90", "--reason", "t").exit_code == 0
    with pytest.raises(InsufficientCredits) as raised:
        liveai.generate(sample_photo(), out=None)
    assert "liveai credits grant" in str(raised.value)
    assert "LIVEAI_ENVIRONMENT" not in str(raised.value)


def test_on_a_configured_database_the_hint_says_why_no_grant(
    cli: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli("generate", "--sample", "--out", str(isolated_env / "v"))
    assert result.exit_code == 5
    assert "LIVEAI_ENVIRONMENT=development" in result.stderr
    assert "liveai credits grant" in result.stderr


def test_blocked_terms_apply_to_the_local_renderer(
    cli_embedded: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_BLOCKED_TERMS", "血腥,gore")
    result = cli_embedded("generate", "--sample", "--prompt", "一个血腥的场景", "--json")
    assert result.exit_code == 6
    shown = json.loads(result.stdout)
    assert shown["state"] == "failed" and shown["charged"] == 0
    assert "blocked term" in shown["error"]


def _manifest(folder: Path) -> Path:
    (folder / "sea.jpg").write_bytes(sample_photo())
    (folder / "bad.jpg").write_bytes(b"junk")
    manifest = folder / "shots.csv"
    manifest.write_text("image,prompt\nsea.jpg,waves\nbad.jpg,x\n")
    return manifest


def test_batch_saves_files_and_lists_them(
    cli_embedded: Cli, isolated_env: Path, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path)
    result = cli_embedded(
        "generate", "batch", str(manifest), "--out", str(tmp_path / "v"), "--json"
    )
    assert result.exit_code == 1
    good, bad = json.loads(result.stdout)
    assert good["state"] == "succeeded" and bad["state"] == "refused"
    assert [Path(f).name for f in good["files"]] == [
        f"sea-{good['task']}.mp4",
        f"sea-{good['task']}.jpg",
    ]
    assert all(Path(f).exists() for f in good["files"])
    assert bad["files"] is None


def test_batch_dry_run_prices_every_line(
    cli_embedded: Cli, isolated_env: Path, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path)
    result = cli_embedded("generate", "batch", str(manifest), "--dry-run", "--json")
    plan = json.loads(result.stdout)
    assert plan["total"] == 10 and plan["available"] == 100 and plan["payable"] is True
    assert [i["state"] for i in plan["items"]] == ["would run", "refused"]
    assert result.exit_code == 2
    assert json.loads(cli_embedded("tasks", "list", "--json").stdout) == []


def test_batch_dry_run_exits_5_when_it_cannot_be_paid(
    cli_embedded: Cli, isolated_env: Path, tmp_path: Path
) -> None:
    (tmp_path / "sea.jpg").write_bytes(sample_photo())
    manifest = tmp_path / "many.jsonl"
    lines = [json.dumps({"image": "sea.jpg", "prompt": f"take {n}"}) for n in range(11)]
    manifest.write_text("\n".join(lines) + "\n")
    result = cli_embedded("generate", "batch", str(manifest), "--dry-run")
    assert result.exit_code == 5
    assert "total 110 credits, 100 available: cannot be paid" in result.stderr


def test_tasks_download(cli_embedded: Cli, isolated_env: Path, tmp_path: Path) -> None:
    made = json.loads(cli_embedded("generate", "--sample", "--out", str(tmp_path), "--json").stdout)
    result = cli_embedded(
        "tasks", "download", made["id"][:8], "--out", str(tmp_path / "dl"), "--json"
    )
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert Path(row["video"]).read_bytes() == Path(made["files"][0]).read_bytes()


def test_batch_progress_counts_refusals_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from liveai_cli import output, progress

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, force_interactive=True, width=100)
    monkeypatch.setattr(output, "_stderr", console)
    with progress.tasks_bar("generating", total=3) as advance:
        for state in ("succeeded", "refused", "refused"):
            advance(state)
    shown = screen.getvalue()
    assert "3/3" in shown and "2 refused" in shown
    assert re.search(r"\d+:\d\d:\d\d|-:--:--", shown)  # the time left
