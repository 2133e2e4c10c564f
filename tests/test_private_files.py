"""Files that hold personal data are the owner's alone: 0600 files, 0700 folders, and no
planted link can redirect what the export writes."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from liveai.db import Database, make_engine
from liveai.privacy.export import export_user
from liveai.settings import load_settings
from liveai.storage import LocalStorage
from tests.conftest import Cli
from tests.generation.helpers import photo
from tests.privacy.helpers import seed_user


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_export_is_0600_and_a_planted_partial_link_is_not_followed(
    database: Database, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "storage")
    with database.transaction() as session:
        seeded = seed_user(session, storage, tag="me")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "bundle.zip"
    (tmp_path / "bundle.zip.partial").symlink_to(victim)

    with database.transaction() as session:
        export_user(session, storage, seeded.user_id, out, settings=load_settings())

    assert victim.read_text() == "keep me"
    assert mode(out) == 0o600 and not out.is_symlink()
    assert [p.name for p in tmp_path.glob(".bundle.zip*")] == []


def test_the_embedded_database_and_its_folder_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = make_engine(f"sqlite:///{home / 'liveai.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        connection.execute(text("INSERT INTO t VALUES ('a')"))
        files = [home / name for name in ("liveai.db", "liveai.db-wal", "liveai.db-shm")]
        assert all(path.exists() for path in files)
        assert [mode(path) for path in files] == [0o600] * 3
    engine.dispose()
    assert mode(home) == 0o700


def test_local_storage_folders_are_private(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "objects")
    storage.put("users/u1/uploads/a.jpg", b"a", content_type="image/jpeg")
    assert mode(tmp_path / "objects") == 0o700
    assert mode(tmp_path / "objects" / "users" / "u1" / "uploads") == 0o700
    assert mode(tmp_path / "objects" / "users" / "u1" / "uploads" / "a.jpg") == 0o600


def test_cli_out_files_and_home_are_private(
    cli_embedded: Cli, isolated_env: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jpg"
    source.write_bytes(photo())
    out = tmp_path / "clean.jpg"
    assert cli_embedded("intake", "check", str(source), "--out", str(out)).exit_code == 0
    assert mode(out) == 0o600
    assert cli_embedded("users", "list").exit_code == 0
    assert mode(isolated_env) == 0o700


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    files = [home / name for name in ("liveai.db", "liveai.db-wal", "liveai.db-shm")]
    for path in files:
        path.touch(mode=0o644)
        path.chmod(0o644)
    make_engine(f"sqlite:///{files[0]}").dispose()
    assert [mode(path) for path in files] == [0o600] * 3


def test_a_rerun_export_removes_what_a_crashed_one_left(database: Database, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage")
    with database.transaction() as session:
        seeded = seed_user(session, storage, tag="me")
    left = tmp_path / ".bundle.zip.x1y2z3.partial"
    left.write_bytes(b"half a bundle")
    elsewhere = tmp_path / "keep.txt"
    elsewhere.write_text("not ours to remove")
    (tmp_path / ".bundle.zip.l1nk.partial").symlink_to(elsewhere)
    with database.transaction() as session:
        export_user(
            session, storage, seeded.user_id, tmp_path / "bundle.zip", settings=load_settings()
        )
    assert not left.exists() and elsewhere.read_text() == "not ours to remove"
