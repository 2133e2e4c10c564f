"""Bad input in every command group ends in one line and its documented exit code, never a
traceback: undecodable arguments and files, huge numbers, dates out of range, unwritable
outputs, broken settings, full disks, empty keys, oversized subjects, zero durations."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.generation.helpers import photo

HUGE = str(10**30)
NOT_UTF8 = b"\xff\xfe".decode("utf-8", "surrogateescape")  # what Python makes of such argv


def _one_line(result, code: int) -> str:  # type: ignore[no-untyped-def]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    image = tmp_path / "p.jpg"
    image.write_bytes(photo())
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_bytes(b"image,prompt\n\xff\xfe.jpg,hi\n")
    zero_csv = tmp_path / "zero.csv"
    zero_csv.write_text(f"image,duration\n{image},0\n")
    zero_jsonl = tmp_path / "zero.jsonl"
    zero_jsonl.write_text(json.dumps({"image": str(image), "duration": 0}) + "\n")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    (tmp_path / "a-folder.zip").mkdir()
    return {
        "image": image,
        "bad_csv": bad_csv,
        "zero_csv": zero_csv,
        "zero_jsonl": zero_jsonl,
        "folder": folder,
        "folder_zip": tmp_path / "a-folder.zip",
    }


@pytest.fixture
def ann(cli: Cli) -> str:
    assert cli("users", "create", "--issuer", "https://t", "--sub", "ann").exit_code == 0
    return "ann"


def _cases(f: dict[str, Path]) -> list[tuple[list[str], int]]:
    out_cases = []
    for bad in ("/dev/null/x", "/proc/x", str(f["folder"])):
        out_cases += [
            (
                [
                    "intake",
                    "check",
                    str(f["image"]),
                    "--out",
                    bad + ".jpg" * (bad != str(f["folder"])),
                ],
                2,
            ),
            (["policy", "render", "--out", bad], 2),
        ]
    for bad in ("/dev/null/x.zip", "/proc/x.zip", str(f["folder_zip"])):
        out_cases.append((["privacy", "export", "ann", "--out", bad], 2))
    for bad in ("/dev/null/x", "/proc/x", str(f["image"])):
        out_cases.append((["generate", str(f["image"]), "--user", "ann", "--out", bad], 2))
    return [
        (["users", "show", NOT_UTF8], 2),
        (["credits", "balance", NOT_UTF8], 2),
        (["generate", "batch", str(f["bad_csv"]), "--user", "ann"], 2),
        (["users", "list", "--limit", HUGE], 2),
        (["tasks", "list", "--limit", HUGE], 2),
        (["audit", "list", "--limit", HUGE], 2),
        (["credits", "history", "ann", "--limit", HUGE], 2),
        (["credits", "grant", "ann", str(2**63), "--reason", "r"], 2),
        (["credits", "grant", "ann", str(10**12 + 1), "--reason", "r"], 2),
        (["credits", "revoke", "ann", str(2**63), "--reason", "r"], 2),
        (["calendar", "due", "9999-12-31"], 2),
        (
            [
                "requests",
                "open",
                "--user",
                "ann",
                "--kind",
                "deletion",
                "--received",
                "0001-01-01",
                "--channel",
                "email",
            ],
            2,
        ),
        *out_cases,
        (["credits", "grant", "ann", "5", "--reason", "r", "--key", ""], 2),
        (["users", "create", "--issuer", "https://t", "--sub", "s" * 100_000], 2),
        (["generate", "batch", str(f["zero_csv"]), "--user", "ann"], 2),
        (["generate", "batch", str(f["zero_jsonl"]), "--user", "ann"], 2),
    ]


def test_every_bad_input_is_one_line_with_its_exit_code(
    cli: Cli, ann: str, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_PROVIDER_ORDER", "local")
    for args, code in _cases(files):
        result = cli(*args)
        try:
            _one_line(result, code)
        except AssertionError as exc:
            raise AssertionError(f"liveai {' '.join(a[:40] for a in args)}: {exc}") from None
    balance = cli("credits", "balance", "ann", "--json")
    assert json.loads(balance.stdout)["available"] == 0  # nothing was granted, held or charged
    assert json.loads(cli("tasks", "list", "--json").stdout) == []  # nothing queued


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"LIVEAI_DATABASE_URL": "nonsense://"}, "is not one liveai can use"),
        ({"LIVEAI_GENERATION_PRICES": "cheap"}, "generation_prices"),
        ({"LIVEAI_HOME": "{file}"}, "is a file, not a folder"),
        ({"LIVEAI_CONFIG": "{config}"}, "is not UTF-8 text"),
    ],
)
def test_broken_settings_are_one_line(
    cli_embedded: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    says: str,
) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "bad.toml").write_bytes(b'database_url = "\xff"\n')
    for name, value in env.items():
        path = value.format(file=tmp_path / "a-file", config=tmp_path / "bad.toml")
        monkeypatch.setenv(name, path)
    assert says in _one_line(cli_embedded("users", "list"), 1)


def test_a_manifest_saved_by_excel_with_a_bom_is_accepted(
    cli_embedded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_RENDER_MAX_SIDE", "96")
    image = tmp_path / "p.jpg"
    image.write_bytes(photo())
    manifest = tmp_path / "excel.csv"
    manifest.write_bytes(b"\xef\xbb\xbfimage,prompt\r\n" + str(image).encode() + b",waves\r\n")
    result = cli_embedded("generate", "batch", str(manifest), "--json")
    assert result.exit_code == 0, result.stderr
    assert [row["state"] for row in json.loads(result.stdout)] == ["succeeded"]


# --- full disks: a tiny tmpfs (root only) ----------------------------------------------


@contextlib.contextmanager
def _full_disk(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), (folder / "filler").open("wb") as filler:
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()
            os.fsync(filler.fileno())


def test_a_full_disk_under_storage_is_one_line(
    cli_embedded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _full_disk(tmp_path / "small", "256k") as disk:
        monkeypatch.setenv("LIVEAI_STORAGE_DIR", str(disk / "storage"))
        assert cli_embedded("users", "list").exit_code == 0
        _fill(disk)
        result = cli_embedded("generate", "--sample", "--no-wait")
    # The first generation also says it made the developer user: the only error is the disk.
    told = [x for x in result.stderr.splitlines() if "created the local developer user" not in x]
    assert result.exit_code == 1 and told == [told[0]] and told[0].startswith("error: ")
    assert "the disk is full" in told[0]
    assert json.loads(cli_embedded("tasks", "list", "--json").stdout) == []


def test_a_full_disk_under_the_sqlite_home_is_one_line_without_start_the_server(
    cli_embedded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _full_disk(tmp_path / "small", "2m") as disk:
        monkeypatch.setenv("LIVEAI_HOME", str(disk / "home"))
        assert cli_embedded("users", "list").exit_code == 0
        _fill(disk)
        line = _one_line(cli_embedded("users", "create", "--issuer", "https://t", "--sub", "b"), 1)
    assert "start the server" not in line
    assert "free space" in line or "disk is full" in line
