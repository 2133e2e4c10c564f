"""The CLI's conventions: help, version, exit codes, errors, docs, and a light start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from liveai_cli.main import app
from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
HEAVY_MODULES = ("sqlalchemy", "alembic", "boto3", "botocore", "av", "httpx", "PIL", "jinja2")


def _walk(command: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found.extend(_walk(sub, (*path, name)))
    return found


def test_every_command_has_help_with_an_example() -> None:
    root = typer.main.get_command(app)
    for path, command in _walk(root):
        if not path:
            continue
        help_text = getattr(command, "help", None) or ""
        assert help_text.strip(), f"liveai {' '.join(path)} has no help"
        if not hasattr(command, "commands"):
            assert "Example:" in help_text, f"liveai {' '.join(path)} has no example"


def test_cli_docs_are_current(tmp_path: Path) -> None:
    generated = tmp_path / "cli.md"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "typer",
            "liveai_cli.main",
            "utils",
            "docs",
            "--name",
            "liveai",
            "--output",
            str(generated),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    committed = (ROOT / "docs" / "cli.md").read_text()
    assert generated.read_text() == committed, (
        "docs/cli.md is stale: run `python -m typer liveai_cli.main utils docs "
        "--name liveai --output docs/cli.md`"
    )


def test_help_and_version_do_not_import_heavy_modules() -> None:
    probe = (
        "import sys\n"
        "from liveai_cli.main import app\n"
        "for args in (['--help'], ['--version'], ['users', '--help']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def _modules_loaded_by(args: list[str]) -> list[str]:
    probe = (
        "import sys\n"
        "from liveai_cli.main import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('liveai_cli.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return result.stdout.strip().splitlines()[-1].strip("[]").replace("'", "").split(", ")


def test_root_help_lists_every_group_without_loading_one() -> None:
    from liveai_cli.groups import SUMMARIES

    loaded = _modules_loaded_by(["--help"])
    assert not [m for m in loaded if m.removeprefix("liveai_cli.") in SUMMARIES], loaded
    result = subprocess.run(
        [sys.executable, "-m", "liveai_cli", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    for name in SUMMARIES:
        assert f" {name} " in result.stdout, name


def test_a_group_loads_alone() -> None:
    loaded = _modules_loaded_by(["users", "--help"])
    assert "liveai_cli.users" in loaded
    assert "liveai_cli.credits" not in loaded


def test_group_summaries_are_the_groups_own_help() -> None:
    from liveai_cli.groups import SUMMARIES

    root = typer.main.get_command(app)
    for name, summary in SUMMARIES.items():
        group = root.commands[name]  # type: ignore[attr-defined]
        assert group.help.startswith(summary), name


def test_a_mistyped_group_gets_a_suggestion(cli_embedded: Cli) -> None:
    result = cli_embedded("user", "list")
    assert result.exit_code == 2
    assert "users" in result.output


def test_version(cli_embedded: Cli) -> None:
    result = cli_embedded("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("liveai ")


def test_bare_group_shows_help(cli_embedded: Cli) -> None:
    result = cli_embedded("users")
    assert "rename" in result.output
    assert result.exit_code in (0, 2)


def test_usage_error_exits_2(cli_embedded: Cli) -> None:
    assert cli_embedded("users", "list", "--limit", "zero").exit_code == 2
    assert cli_embedded("no-such-group").exit_code == 2


def test_debug_shows_the_traceback(cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli_embedded("users", "show", "ghost").exit_code == 3
    monkeypatch.setenv("LIVEAI_DEBUG", "1")
    result = cli_embedded("users", "show", "ghost")
    assert result.exception is not None
    assert type(result.exception).__name__ == "NotFound"


def test_doctor_reports_every_check(cli_embedded: Cli, isolated_env: Path) -> None:
    result = cli_embedded("doctor", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    names = [c["name"] for c in report["checks"]]
    assert names[:3] == ["config", "database", "storage"]


def test_doctor_fails_on_unwritable_storage(
    cli_embedded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LIVEAI_STORAGE_DIR", str(blocker / "storage"))
    result = cli_embedded("doctor", "--json")
    assert result.exit_code == 1
    storage = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "storage")
    assert storage["ok"] is False


def test_doctor_reports_bad_config(cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEAI_STORAGE", "tape")
    result = cli_embedded("doctor")
    assert result.exit_code == 1
    assert "storage" in result.stdout
