"""Every --json shape is documented (liveai_cli/shapes.py, shown in --help and docs/cli.md)
and the commands print exactly what is documented: a changed shape fails here first."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer

from liveai.generation.sample import sample_photo
from liveai_cli.main import app
from liveai_cli.shapes import SHAPES
from tests.conftest import Cli


def _commands(command: object, path: tuple[str, ...] = ()) -> dict[str, object]:
    subs = getattr(command, "commands", None)
    if not subs:
        return {" ".join(path): command}
    found: dict[str, object] = {}
    for name in list(subs):
        found.update(_commands(subs[name], (*path, name)))
    return found


def _takes_json(command: object) -> bool:
    return any("--json" in getattr(p, "opts", []) for p in getattr(command, "params", []))


def documented(shape: str, variant: int = 0) -> tuple[bool, set[str], bool]:
    """(an array?, the keys, more keys allowed?) of the shape line's `variant`th object."""
    objects = re.findall(r"\{([^}]*)\}", shape)
    names = [k.strip() for k in objects[variant].split(",")]
    array = shape.startswith("an array of") and variant == 0
    return array, {n for n in names if n != "..."}, "..." in names


def test_every_json_command_has_a_documented_shape() -> None:
    commands = _commands(typer.main.get_command(app))
    with_json = {path for path, command in commands.items() if _takes_json(command)}
    assert sorted(with_json - set(SHAPES)) == []
    groups = {path.split()[0] for path in commands}
    present = {path for path in SHAPES if path.split()[0] in groups}
    assert sorted(present - with_json) == []
    docs = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    for path in present:
        assert f"JSON: {SHAPES[path]}" in docs, path


RUNS = [
    ("doctor",),
    ("config", "show"),
    ("db", "upgrade"),
    ("db", "current"),
    ("db", "check"),
    ("users", "show", "u_8f2"),
    ("users", "list"),
    ("users", "rename", "u_8f2", "Ann Lee"),
    ("credits", "balance", "u_8f2"),
    ("credits", "history", "u_8f2"),
    ("credits", "revoke", "u_8f2", "5", "--reason", "duplicate"),
    ("credits", "holds"),
    ("credits", "expire-holds"),
    ("credits", "reconcile"),
    ("audit", "list"),
    ("audit", "verify"),
    ("requests", "list", "--all"),
    ("calendar", "due", "2026-09-14"),
    ("calendar", "status"),
    ("retention", "status"),
    ("retention", "sweep", "--dry-run"),
    ("receipts", "products"),
    ("devices", "list", "u_8f2"),
    ("policy", "lint"),
    ("policy", "app-privacy"),
    ("providers", "list"),
    ("storage", "check"),
    ("storage", "ls"),
    ("tasks", "list"),
]


def _check(path: str, printed: str, variant: int = 0) -> None:
    is_array, keys, more = documented(SHAPES[path], variant)
    data = json.loads(printed)
    objects = data if is_array else [data]
    assert isinstance(data, list) == is_array, path
    assert objects, f"{path}: the tour left nothing to check"
    for found in objects:
        assert (set(found) >= keys) if more else (set(found) == keys), (path, sorted(found))


@pytest.fixture
def tour(
    cli_embedded: Cli, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Cli:
    monkeypatch.setenv("LIVEAI_APPLE_BUNDLE_ID", "ai.live.app")
    monkeypatch.setenv("LIVEAI_APPLE_PRODUCTS", '{"ai.live.credits10": 10}')
    monkeypatch.chdir(tmp_path)
    return cli_embedded


def test_commands_print_their_documented_shapes(tour: Cli, tmp_path: Path) -> None:
    cli = tour
    (tmp_path / "sea.jpg").write_bytes(sample_photo())
    (tmp_path / "shots.csv").write_text("image,prompt\nsea.jpg,waves\n")

    def run(*argv: str) -> str:
        result = cli(*argv, "--json")
        linted = argv[:2] == ("policy", "lint")  # exits 1 for the policy's known gaps
        assert result.exit_code == (1 if linted else 0), (argv, result.output)
        return result.stdout

    made = json.loads(run("generate", "sea.jpg", "--out", "v"))
    _check("generate image", json.dumps(made))
    _check("generate batch", run("generate", "batch", "shots.csv", "--out", "v"))
    _check("generate batch", json.dumps(json.loads(run("generate", "batch", "shots.csv"))))
    _check("generate batch", run("generate", "batch", "shots.csv", "--dry-run"), variant=1)
    _check(
        "users create", run("users", "create", "--issuer", "https://id.example", "--sub", "u_8f2")
    )
    _check("credits grant", run("credits", "grant", "u_8f2", "50", "--reason", "promo"))
    transfer = json.loads(cli("credits", "history", "u_8f2", "--json").stdout)[0]
    _check("credits show", run("credits", "show", transfer["id"]))
    for consent in ("face_editing", "sensitive:photos"):
        grant = ("consents", "grant", "u_8f2", consent, "--source", "in-app", "--evidence", "sheet")
        _check("consents grant", run(*grant))
    _check("consents list", run("consents", "list", "u_8f2"))
    _check("consents history", run("consents", "history", "u_8f2"))
    _check("consents required", run("consents", "required"))
    queued = json.loads(run("generate", "sea.jpg", "--user", "u_8f2", "--no-wait"))
    request = json.loads(
        run("requests", "open", "--user", "u_8f2", "--kind", "correction",
            "--received", "2026-11-27", "--channel", "email")
    )  # fmt: skip
    _check("requests open", json.dumps(request))
    _check("requests show", run("requests", "show", request["id"]))
    _check("requests verify", run("requests", "verify", request["id"], "--note", "relay address"))
    _check("requests complete", run("requests", "complete", request["id"]))
    token = "ab" * 32
    _check("devices add", run("devices", "add", "u_8f2", token, "--env", "sandbox"))
    _check("intake check", run("intake", "check", "sea.jpg"))
    _check("tasks show", run("tasks", "show", made["id"]))
    _check("tasks download", run("tasks", "download", made["id"], "--out", "dl"))
    _check("privacy export", run("privacy", "export", "u_8f2", "--out", "u.zip"))
    for argv in RUNS:
        path = " ".join(argv[:2]) if " ".join(argv[:2]) in SHAPES else argv[0]
        _check(path, run(*argv))
    _check("policy publish", run("policy", "publish", "--accept-risk", "the shapes test"))
    _check("policy versions", run("policy", "versions"))
    _check("users erase", run("users", "erase", "u_8f2", "--dry-run"), variant=1)
    _check("devices remove", run("devices", "remove", token, "--yes"))
    _check("tasks cancel", run("tasks", "cancel", queued["id"]))
    _check("tasks delete", run("tasks", "delete", made["id"], "--yes"))
    _check("tasks resume", run("tasks", "resume"))
