from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest

from liveai.db import Database, make_engine
from liveai.models import PrivacyRequest, RequestKind, RequestState
from liveai.privacy import requests as reg
from liveai.privacy.export import export_user
from liveai.privacy.fulfil import carry_out, check_work
from liveai.settings import load_settings
from liveai.storage import LocalStorage
from tests.conftest import Cli
from tests.privacy.helpers import seed_user


def test_export_bundle_contents(database: Database, storage: LocalStorage, tmp_path: Path) -> None:
    with database.transaction() as session:
        mine = seed_user(session, storage, tag="me")
        other = seed_user(session, storage, tag="other")
    out = tmp_path / "bundle.zip"
    with database.transaction() as session:
        manifest = export_user(session, storage, mine.user_id, out, settings=load_settings())
    with zipfile.ZipFile(out) as bundle:
        names = set(bundle.namelist())
        document = json.loads(bundle.read("manifest.json"))
        for entry in document["files"]:
            assert hashlib.sha256(bundle.read(entry["path"])).hexdigest() == entry["sha256"]
        assert {e["path"] for e in document["files"]} | {"manifest.json"} == names
        users = json.loads(bundle.read("data/users.json"))
        assert [u["email"] for u in users] == ["me@privaterelay.appleid.com"]
        tasks = json.loads(bundle.read("data/tasks.json"))
        assert {t["id"] for t in tasks} == {str(t) for t in mine.task_ids}  # deleted work gone
        assert all("lease_owner" not in t for t in tasks)
        transfers = json.loads(bundle.read("data/data_transfers.json"))
        assert {(t["provider"], t["region"]) for t in transfers} == {("kling", "mainland_china")}
        assert "data/apple_credentials.json" not in names
        history = json.loads(bundle.read("data/consents.json"))
        assert [(c["kind"], c["scope"], c["action"], c["source"]) for c in history] == [
            ("face_editing", None, "granted", "in-app"),
            ("cross_border", "fal", "granted", "staff"),
            ("cross_border", "fal", "withdrawn", "staff"),
        ]
        assert history[0]["evidence"]["app_version"] == "2.3.0"
        ledger_rows = json.loads(bundle.read("data/ledger_transfers.json"))
        assert sorted(r["amount"] for r in ledger_rows) == [50, 100]
        for key, data in mine.media.items():
            assert bundle.read("media/" + key.split("/", 2)[2]) == data
        summary = bundle.read("summary.html").decode()
        assert "Kling" in summary and "您的数据" in summary and "Your data" in summary
        everything = b"".join(bundle.read(n) for n in names)
        assert str(other.user_id).encode() not in everything
        assert other.subject.encode() not in everything
    assert manifest.subject == str(mine.user_id)
    assert not list(tmp_path.glob("*.partial"))


def test_cli_export_and_bad_input(
    cli: Cli, db_url: str, isolated_env: Path, tmp_path: Path
) -> None:
    database = Database(make_engine(db_url))
    storage = LocalStorage(isolated_env / "storage")
    with database.transaction() as session:
        seeded = seed_user(session, storage, tag="cli")
    database.close()
    out = tmp_path / "export.zip"
    done = cli("privacy", "export", seeded.subject, "--out", str(out), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["subject"] == str(seeded.user_id)
    assert zipfile.is_zipfile(out)
    again = cli("privacy", "export", seeded.subject, "--out", str(out))
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert cli("privacy", "export", seeded.subject, "--out", str(tmp_path / "x.txt")).exit_code == 2
    assert cli("privacy", "export", "ghost", "--out", str(tmp_path / "g.zip")).exit_code == 3
    assert not (tmp_path / "g.zip").exists()


def test_request_run_export_completes_the_request(
    cli: Cli, db_url: str, isolated_env: Path, tmp_path: Path
) -> None:
    database = Database(make_engine(db_url))
    with database.transaction() as session:
        seeded = seed_user(session, LocalStorage(isolated_env / "storage"), tag="req")
    database.close()
    opened = cli(
        "requests",
        "open",
        "--user",
        seeded.subject,
        "--kind",
        "export",
        "--received",
        "2026-11-20T10:00+08:00",
        "--channel",
        "email",
        "--json",
    )
    request_id = json.loads(opened.stdout)["id"]
    not_verified = cli("requests", "run", request_id, "--out", str(tmp_path / "r.zip"))
    assert not_verified.exit_code == 1 and "not verified" in not_verified.stderr
    assert cli("requests", "verify", request_id, "--note", "in-app, signed in").exit_code == 0
    ran = cli("requests", "run", request_id, "--out", str(tmp_path / "r.zip"))
    assert ran.exit_code == 0, ran.output
    assert zipfile.is_zipfile(tmp_path / "r.zip")
    shown = json.loads(cli("requests", "show", request_id, "--json").stdout)
    assert shown["state"] == "completed" and shown["completed_at"]


PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def test_the_summary_fills_every_placeholder_from_the_settings(
    database: Database, storage: LocalStorage, tmp_path: Path
) -> None:
    """The page the data subject reads states the configured periods, in both languages."""
    settings = load_settings(upload_retention_days=21, log_retention_days=45)
    with database.transaction() as session:
        mine = seed_user(session, storage, tag="me")
    out = tmp_path / "bundle.zip"
    with database.transaction() as session:
        export_user(session, storage, mine.user_id, out, settings=settings)
    with zipfile.ZipFile(out) as bundle:
        summary = bundle.read("summary.html").decode()
    assert PLACEHOLDER.findall(summary) == []
    assert "最长 21 天" in summary and "up to 21 days" in summary
    assert "45 天" in summary and "45 days" in summary


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_inventory_text_the_summary_shows_is_filled(lang: str) -> None:
    from liveai.privacy.export import summary_environment
    from liveai.privacy.inventory import DEFAULT_INVENTORY

    env = summary_environment(DEFAULT_INVENTORY, load_settings())
    pick = env.filters[lang]
    for category in DEFAULT_INVENTORY.categories:
        shown = [category.name, category.purpose, category.retention.text]
        for text in filter(None, shown):
            assert PLACEHOLDER.findall(pick(text)) == [], text


def test_carry_out_exports_and_completes_the_request(
    database: Database, storage: LocalStorage, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    with database.transaction() as session:
        mine = seed_user(session, storage)
        request = reg.open_request(
            session,
            mine.user_id,
            kind=RequestKind.EXPORT,
            channel="email",
            received_at=datetime(2026, 11, 20, tzinfo=UTC),
            working_days=15,
        )
        reg.verify_manually(session, request, "checked by a call back")
    out = tmp_path / "bundle.zip"
    with database.transaction() as session:
        work = check_work(session, str(request.id), out=out)
    done = carry_out(database, work, storage=storage, settings=load_settings(), out=out)
    assert done.manifest is not None and done.manifest.subject == str(mine.user_id)
    assert zipfile.is_zipfile(out)
    with database.transaction() as session:
        assert session.get_one(PrivacyRequest, request.id).state is RequestState.COMPLETED
