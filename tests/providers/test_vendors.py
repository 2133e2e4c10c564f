"""A vendor is one module: its SPEC (credentials included), one line in VENDORS, and the one
gate (credentials, region, disclosure in the privacy inventory) that decides whether it
runs."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from liveai.errors import ConfigError
from liveai.privacy import inventory
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.privacy.inventory_types import Inventory, Text, ThirdParty
from liveai.providers import kling, vendors
from liveai.providers.ark import ArkProvider
from liveai.providers.remote import build_remote_providers
from liveai.providers.spec import VendorSpec
from liveai.settings import Settings, load_settings
from tests.conftest import Cli
from tests.fakes.ark import FakeArk
from tests.providers import acme_vendor
from tests.providers.helpers import ARK_KEY

KEYS = {
    "kling_api_key": "k",
    "ark_api_key": "a",
    "wan_api_key": "w",
    "fal_key": "f",
    "allow_overseas": True,
}


@pytest.fixture
def ark() -> Iterator[FakeArk]:
    with FakeArk(api_keys={ARK_KEY}) as running:
        yield running


def test_every_vendor_reads_settings_that_exist() -> None:
    credentials = [credential.name for credential in vendors.credentials()]
    assert len(credentials) == len(set(credentials))
    assert not set(credentials) & set(Settings.model_fields)
    for spec in vendors.VENDORS:
        optional = {f"{spec.name}_base_url", f"{spec.name}_model"}
        assert optional <= set(Settings.model_fields), spec.name


def test_credentials_are_settings_read_from_every_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "liveai.toml"
    config.write_text('ark_api_key = "from-file"\nwan_api_key = "from-file"\n')
    monkeypatch.setenv("LIVEAI_CONFIG", str(config))
    monkeypatch.setenv("LIVEAI_WAN_API_KEY", "from-env")
    monkeypatch.setenv("liveai_fal_key", "lower-case-env")
    settings = load_settings(kling_api_key="from-init")
    assert settings.credential("kling_api_key") == "from-init"
    assert settings.credential("wan_api_key") == "from-env"
    assert settings.credential("ark_api_key") == "from-file"
    assert settings.credential("fal_key") == "lower-case-env"
    assert settings.credential("kling_access_key") == ""
    assert "from-" not in repr(settings) and "from-" not in str(settings.masked())
    with pytest.raises(ConfigError, match="ark_api_kye: Extra inputs are not permitted"):
        load_settings(ark_api_kye="typo")
    with pytest.raises(ConfigError, match="ark_api_key: Input should be a valid string"):
        load_settings(ark_api_key=3)


def test_reading_the_credentials_loads_no_http_code() -> None:
    """Every command with a vendor's key set reads the vendors' credentials at start-up."""
    probe = (
        "import sys\n"
        "from liveai.settings import Settings\n"
        "assert Settings().credential('ark_api_key') == 'x'\n"
        "heavy = ('httpx', 'jwt', 'liveai.providers.http', 'liveai.privacy.inventory')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "LIVEAI_ARK_API_KEY": "x"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert result.stdout.splitlines() == ["[]"], result.stderr


def test_the_defaults_live_in_the_spec_and_settings_override_them() -> None:
    assert Settings.model_fields["kling_base_url"].default is None
    assert kling.SPEC.base_url_in(Settings()) == kling.CHINA_URL
    assert kling.SPEC.model_in(Settings()) == "kling-v2-1"
    assert kling.SPEC.region(Settings()) == "mainland_china"
    abroad = Settings(kling_base_url=kling.GLOBAL_URL, kling_model="kling-v1-5")
    assert kling.SPEC.base_url_in(abroad) == kling.GLOBAL_URL
    assert kling.SPEC.model_in(abroad) == "kling-v1-5"
    assert kling.SPEC.region(abroad) == "overseas"


def test_each_spec_builds_its_provider() -> None:
    settings = load_settings(**KEYS)
    with httpx.Client() as client:
        built = build_remote_providers(settings, client)
    assert list(built) == [spec.name for spec in vendors.VENDORS]
    for spec in vendors.VENDORS:
        provider = built[spec.name]
        assert provider.name == spec.name and provider.region == spec.region(settings)
        assert provider.result_origin().hosts == spec.result_hosts  # type: ignore[attr-defined]


def test_the_gate_refuses_in_order_of_what_to_fix_first(monkeypatch: pytest.MonkeyPatch) -> None:
    acme = acme_vendor.SPEC
    assert vendors.refusal(acme, load_settings(ark_api_key="a")) == vendors.NO_CREDENTIALS
    monkeypatch.setattr(vendors, "VENDORS", (*vendors.VENDORS, acme))
    keyed = load_settings(acme_api_key="a")
    overseas = dataclasses.replace(acme, home="overseas")
    assert vendors.refusal(overseas, keyed) == vendors.OVERSEAS
    assert vendors.refusal(acme, keyed) == vendors.UNDISCLOSED
    assert vendors.refusal(acme, keyed, _disclosing("acme")) is None


def test_a_vendor_the_inventory_does_not_disclose_cannot_run(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch, ark: FakeArk, tmp_path: Path
) -> None:
    _register(monkeypatch, ark)
    listed = json.loads(cli_embedded("providers", "list", "--json").stdout)
    assert [p["reason"] for p in listed if p["name"] == "acme"] == [vendors.UNDISCLOSED]
    result = cli_embedded("generate", "--sample", "--prompt", "waves", "--out", str(tmp_path))
    assert result.exit_code == ConfigError.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: provider acme has credentials but the privacy inventory does not disclose it "
        "(add a third party with provider='acme' to the inventory, or remove its credentials)"
    ]
    assert ark.requests == []


def test_a_new_vendor_is_one_module_and_one_line(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch, ark: FakeArk, tmp_path: Path
) -> None:
    _register(monkeypatch, ark)
    monkeypatch.setattr(inventory, "DEFAULT_INVENTORY", _disclosing("acme"))
    monkeypatch.setattr(ArkProvider, "poll_delay", lambda self, polls: 0.01)
    result = cli_embedded(
        "generate", "--sample", "--provider", "acme", "--prompt", "waves", "--out", str(tmp_path),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["state"] == "succeeded" and shown["provider"] == "acme"
    assert [t["provider"] for t in shown["transfers"]] == ["acme"]
    assert Path(shown["files"][0]).read_bytes()[4:8] == b"ftyp"
    (submit,) = [r for r in ark.requests if r.method == "POST"]
    assert submit.body["model"] == acme_vendor.SPEC.model


def test_a_new_vendor_is_a_setting_and_a_choice(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch, ark: FakeArk
) -> None:
    _register(monkeypatch, ark)
    monkeypatch.setenv("LIVEAI_ACME_API_KEI", "typo")
    shown = json.loads(cli_embedded("config", "show", "--json").stdout)
    names = [row["name"] for row in shown]
    assert names.index("acme_api_key") == names.index("fal_model") + 1
    (row,) = [row for row in shown if row["name"] == "acme_api_key"]
    assert row == {
        "name": "acme_api_key",
        "value": "********",
        "source": "environment",
        "description": "Acme API key",
        "variable": "LIVEAI_ACME_API_KEY",
    }
    checked = cli_embedded("providers", "check", "acme", "--json")
    assert "Invalid value" not in checked.stderr
    assert json.loads(checked.stdout)["checks"][0]["name"] == "acme"
    assert checked.stderr.splitlines()[0] == (
        "warning: LIVEAI_ACME_API_KEI is not a liveai setting and is ignored "
        "(did you mean LIVEAI_ACME_API_KEY?)"
    )


def _register(monkeypatch: pytest.MonkeyPatch, ark: FakeArk) -> None:
    """The one line: Acme joins VENDORS (here, pointed at the fake and first in the order);
    its key is its own setting."""
    spec = dataclasses.replace(acme_vendor.SPEC, base_url=ark.url + "/api/v3")
    monkeypatch.setattr(vendors, "VENDORS", (*vendors.VENDORS, spec))
    monkeypatch.setenv("LIVEAI_ACME_API_KEY", ARK_KEY)
    monkeypatch.setenv("LIVEAI_PROVIDER_ORDER", "acme")
    monkeypatch.setenv("LIVEAI_PROVIDER_RETRIES", "0")
    monkeypatch.setenv("LIVEAI_GENERATION_POLL_INTERVAL_S", "0.01")


def _disclosing(name: str) -> Inventory:
    """Our inventory with one more video-generation recipient, disclosed as ``name``."""
    party = ThirdParty(
        key=name,
        categories=("photos", "prompts"),
        name=Text(zh=name, en=name),
        summary=Text(zh="视频生成。", en="video generation."),
        region="mainland_china",
        purpose=Text(zh="生成视频", en="video generation"),
        data_received=Text(zh="图片与提示词", en="image and prompt"),
        policy_url=None,
        provider=name,
    )
    parties = (*DEFAULT_INVENTORY.third_parties, party)
    return dataclasses.replace(DEFAULT_INVENTORY, third_parties=parties)


def test_the_worked_example_in_the_architecture_compiles() -> None:
    text = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    section = text.split("## Adding a vendor", 1)[1]
    module = section.split("```python\n", 1)[1].split("```", 1)[0]
    found: dict[str, object] = {}
    exec(compile(module, "acme.py", "exec"), found)
    spec = found["SPEC"]
    assert isinstance(spec, VendorSpec) and spec.name == "acme"
    assert [credential.name for credential in spec.declared()] == ["acme_api_key"]
    line = section.split("```python\n", 2)[2].split("```", 1)[0]
    assert "    acme.SPEC,\n" in line
