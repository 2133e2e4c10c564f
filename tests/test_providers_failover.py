"""The real provider clients inside the task lifecycle: full generations through the CLI,
failover across all four fakes, moderation without failover, and overseas disabled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveai.clock import FixedClock
from liveai.db import Database
from liveai.generation import transfers_of
from liveai.models import TaskState
from liveai.providers.registry import build_providers
from liveai.storage import LocalStorage
from tests.fakes.video_api import TRIGGER_WORD
from tests.generation_helpers import START, Rig, rig_settings
from tests.providers_helpers import all_fakes, fake_env, fake_settings

ORDER = "kling,ark,wan,fal"


@pytest.fixture
def fakes() -> Iterator[dict[str, Any]]:
    with all_fakes() as running:
        yield running


def _rig(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict, **extra: Any
) -> Rig:
    values = {
        **fake_settings(fakes),
        "provider_order": ORDER,
        "allow_overseas": True,
        "provider_http_timeout_s": 1.0,
        **extra,
    }
    settings = rig_settings(tmp_path, **values)
    return Rig(
        database=database,
        settings=settings,
        storage=LocalStorage(tmp_path / "storage"),
        clock=FixedClock(START),
        client=client,
        providers=build_providers(settings, client),
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as c:
        yield c


@pytest.mark.parametrize("name", ["kling", "ark", "wan", "fal"])
def test_a_full_generation_through_the_cli(
    cli_embedded, fakes: dict[str, Any], monkeypatch, tmp_path: Path, name: str
) -> None:
    for key, value in fake_env(fakes).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LIVEAI_ALLOW_OVERSEAS", "true")
    monkeypatch.setenv("LIVEAI_GENERATION_POLL_INTERVAL_S", "0.01")
    out = tmp_path / "out"
    result = cli_embedded(
        "generate", "--sample", "--provider", name, "--prompt", "waves", "--out", str(out), "--json"
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["state"] == "succeeded" and shown["provider"] == name
    video = Path(shown["files"][0]).read_bytes()
    assert video[4:8] == b"ftyp"
    (transfer,) = shown["transfers"]
    assert transfer["provider"] == name and transfer["transport"] == "base64"
    assert transfer["region"] == ("overseas" if name == "fal" else "mainland_china")
    submits = [r for r in fakes[name].requests if r.method == "POST"]
    assert len(submits) == 1
    others = [n for n in fakes if n != name]
    assert all(fakes[n].requests == [] for n in others)


def test_failover_across_all_four_records_every_attempt(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes)
    fakes["kling"].inject("500", "submit")
    fakes["ark"].inject("balance", "submit")
    fakes["wan"].inject("timeout", "submit")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user, prompt="waves").id)
    assert done.state is TaskState.SUCCEEDED and done.provider == "fal" and done.attempts == 4
    with database.transaction() as session:
        transfers = transfers_of(session, done.id)
        assert [t.provider for t in transfers] == ["kling", "ark", "wan", "fal"]
        assert [t.region for t in transfers][-1] == "overseas"
    assert rig.balance(user).available == 100 - done.charged and done.charged > 0
    assert rig.reconciled()


def test_moderation_is_never_sent_elsewhere_and_is_refunded(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes)
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user, prompt=f"a {TRIGGER_WORD}").id)
    assert done.state is TaskState.FAILED and done.error_code == "1301"
    assert "rejected by moderation" in (done.error or "")
    assert all(fakes[n].requests == [] for n in ("ark", "wan", "fal"))
    assert rig.balance(user).available == 100 and done.charged == 0
    fakes["kling"].inject("moderation_later", "submit")  # refused after submit, while polled
    later = rig.lifecycle().run(rig.create(user).id)
    assert later.state is TaskState.FAILED and "rejected by moderation" in (later.error or "")
    assert all(fakes[n].requests == [] for n in ("ark", "wan", "fal"))
    assert rig.balance(user).available == 100
    assert rig.reconciled()


def test_blocked_term_is_refused_before_anything_leaves(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, blocked_terms="血腥,gore")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user, prompt="一个血腥的场景").id)
    assert done.state is TaskState.FAILED and done.error_code == "blocked_term"
    assert all(fake.requests == [] for fake in fakes.values())
    assert rig.balance(user).available == 100


def test_overseas_disabled_never_uses_fal(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, allow_overseas=False)
    assert "fal" not in rig.providers
    for name in ("kling", "ark", "wan"):
        fakes[name].inject("503", "submit")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user).id)
    assert done.state is TaskState.FAILED and done.attempts == 3
    assert fakes["fal"].requests == []
    with database.transaction() as session:
        assert "fal" not in [t.provider for t in transfers_of(session, done.id)]
    assert rig.balance(user).available == 100
