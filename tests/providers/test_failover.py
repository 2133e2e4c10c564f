"""The real provider clients inside the task lifecycle: full generations through the CLI,
failover across all four fakes, moderation without failover, and overseas disabled."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from liveai.clock import FixedClock
from liveai.db import Database
from liveai.generation import transfers_of
from liveai.models import TaskState
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.providers.ark import ArkProvider
from liveai.providers.fal import FalProvider
from liveai.providers.kling import KlingProvider
from liveai.providers.registry import build_providers
from liveai.providers.wan import WanProvider
from liveai.storage import LocalStorage
from tests.conftest import Cli
from tests.fakes.video_api import TRIGGER_WORD
from tests.generation.helpers import START, Crash, Rig, rig_settings
from tests.providers.helpers import RED, all_fakes, fake_env, fake_settings

ORDER = "kling,ark,wan,fal"
PROVIDER_CLASSES = (KlingProvider, ArkProvider, WanProvider, FalProvider)


@pytest.fixture
def fakes() -> Iterator[dict[str, Any]]:
    with all_fakes() as running:
        yield running


def _rig(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any], **extra: Any
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
    cli_embedded: Cli,
    fakes: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    name: str,
) -> None:
    for key, value in fake_env(fakes).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LIVEAI_ALLOW_OVERSEAS", "true")
    monkeypatch.setenv("LIVEAI_GENERATION_POLL_INTERVAL_S", "0.01")
    for provider_class in PROVIDER_CLASSES:  # their own pace is seconds apart
        monkeypatch.setattr(provider_class, "poll_delay", lambda self, polls: 0.01)
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
    fakes["wan"].inject("503", "submit")  # a timeout there is ambiguous: no failover
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user, prompt="waves").id)
    assert done.state is TaskState.SUCCEEDED and done.provider == "fal" and done.attempts == 4
    with database.transaction() as session:
        transfers = transfers_of(session, done.id)
        assert [t.provider for t in transfers] == ["kling", "ark", "wan", "fal"]
        assert [t.region for t in transfers][-1] == "overseas"
    assert done.charged is not None
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


def _polls(fake: Any) -> list[Any]:
    return [r for r in fake.requests if r.method == "GET" and "/files/" not in r.path]


@pytest.mark.parametrize("lost", ["kling", "ark", "wan", "fal"])
def test_a_lost_task_fails_over_to_the_next_provider(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any], lost: str
) -> None:
    after = "ark" if lost == "kling" else "kling"
    rig = _rig(database, tmp_path, client, fakes, provider_order=f"{lost},{after}")
    fakes[lost].inject("lost", "submit")
    user = rig.user(100)
    task = rig.create(user, prompt="waves")
    done = rig.lifecycle().run(task.id)
    assert done.state is TaskState.SUCCEEDED and done.provider == after and done.attempts == 2
    assert len(_polls(fakes[lost])) == 1  # no polling on until the timeout
    with database.transaction() as session:
        assert [t.provider for t in transfers_of(session, done.id)] == [lost, after]
    assert done.charged is not None
    assert rig.balance(user).available == 100 - done.charged and done.charged <= task.price
    assert rig.balance(user).pending == 0
    assert rig.reconciled()


def test_a_lost_task_with_no_provider_left_fails_and_refunds(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes)
    fakes["wan"].inject("lost", "submit")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user, provider="wan").id)
    assert (done.state, done.error_code, done.attempts) == (TaskState.FAILED, "lost", 1)
    assert len(_polls(fakes["wan"])) == 1
    assert all(fakes[n].requests == [] for n in ("kling", "ark", "fal"))
    assert rig.balance(user).available == 100 and rig.balance(user).pending == 0
    assert rig.reconciled()


def test_a_crash_right_after_a_failover_resumes_on_the_next_provider(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, provider_order="ark,wan")
    fakes["ark"].inject("lost", "submit")
    user = rig.user(100)
    task = rig.create(user)
    rig.crash_at = "failover"
    with pytest.raises(Crash):
        rig.lifecycle(runner_id="first").run(task.id)
    rig.clock.advance(timedelta(seconds=rig.settings.generation_lease_s + 1))
    done = rig.lifecycle(runner_id="second").run(task.id)
    assert done.state is TaskState.SUCCEEDED and done.provider == "wan"
    assert [len(fakes[n].requests_to("/api", "POST")) for n in ("ark", "wan")] == [1, 1]
    assert done.charged is not None
    assert rig.balance(user).available == 100 - done.charged and rig.reconciled()


@pytest.mark.parametrize("name", ["kling", "ark", "wan", "fal"])
def test_each_remote_provider_is_polled_at_its_own_pace(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any], name: str
) -> None:
    rig = _rig(database, tmp_path, client, fakes, provider_order=name)
    fakes[name].polls_to_finish = 12
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        rig.clock.advance(timedelta(seconds=seconds))

    done = rig.lifecycle(sleep=sleep).run(rig.create(rig.user()).id)
    assert done.state is TaskState.SUCCEEDED
    pace = [rig.providers[name].poll_delay(n) for n in range(1, len(delays) + 1)]  # type: ignore[attr-defined]
    assert delays == pace and len(delays) >= 12
    assert delays[:4] != [1.0, 2.0, 4.0, 8.0]  # not the generation_poll_* backoff


def test_the_qwen_vl_check_is_recorded_as_a_transfer_to_alibaba(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    assert "wan" in DEFAULT_INVENTORY.disclosed_providers  # Alibaba Cloud: Wan and Qwen-VL
    rig = _rig(database, tmp_path, client, fakes, qwen_vl_model="qwen-vl-max")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user, prompt="waves").id)
    assert done.state is TaskState.SUCCEEDED and done.provider == "kling"
    assert len(fakes["wan"].requests_to("/compatible-mode")) == 1
    assert _transfers(database, done.id) == [
        ("wan", "mainland_china", ["image"], "base64"),
        ("kling", "mainland_china", ["image", "prompt"], "base64"),
    ]

    refused = rig.lifecycle().run(rig.create(user, image=_red_photo()).id)
    assert refused.state is TaskState.FAILED and "rejected by moderation" in (refused.error or "")
    # refused by the check: Kling never got the photo, so no transfer to it is recorded
    assert _transfers(database, refused.id) == [("wan", "mainland_china", ["image"], "base64")]


def test_the_qwen_vl_check_and_wan_share_one_recipient_record(
    database: Database, tmp_path: Path, client: httpx.Client, fakes: dict[str, Any]
) -> None:
    rig = _rig(database, tmp_path, client, fakes, qwen_vl_model="qwen-vl-max", blocked_terms="gore")
    user = rig.user(100)
    done = rig.lifecycle().run(rig.create(user, prompt="waves", provider="wan").id)
    assert done.state is TaskState.SUCCEEDED
    assert _transfers(database, done.id) == [
        ("wan", "mainland_china", ["image", "prompt"], "base64")
    ]
    rig.storage = _PresigningStorage(tmp_path / "storage")  # Wan now fetches a URL
    by_url = rig.lifecycle().run(rig.create(user, provider="wan").id)
    assert by_url.state is TaskState.SUCCEEDED
    assert _transfers(database, by_url.id) == [("wan", "mainland_china", ["image"], "base64,url")]
    checked = len(fakes["wan"].requests_to("/compatible-mode"))
    blocked = rig.lifecycle().run(rig.create(user, prompt="gore").id)
    assert blocked.state is TaskState.FAILED and blocked.error_code == "blocked_term"
    assert _transfers(database, blocked.id) == []  # refused here: nothing left the machine
    assert len(fakes["wan"].requests_to("/compatible-mode")) == checked


class _PresigningStorage(LocalStorage):
    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        return f"https://bucket.example/{key}?expires={int(expires.total_seconds())}"


def _transfers(database: Database, task_id: Any) -> list[tuple[str, str, list[str], str]]:
    with database.transaction() as session:
        return [
            (t.provider, t.region, list(t.items), t.transport)
            for t in transfers_of(session, task_id)
        ]


def _red_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), RED).save(buffer, "JPEG")
    return buffer.getvalue()
