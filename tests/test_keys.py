"""Private keys in settings are never echoed: messages name the setting, not its value."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from liveai.errors import ConfigError
from liveai.identity.siwa import AppleClient
from liveai.purchases.health import app_store_status
from liveai.settings import load_settings
from tests.conftest import Cli


def _unarmoured_p8(one_line: bool) -> str:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    return "".join(body) if one_line else "\n".join(body)


def _fragments(value: str) -> list[str]:
    return [line[:24] for line in value.splitlines()] + [value[-24:]]


@pytest.mark.parametrize("one_line", [True, False], ids=["one line", "lines"])
def test_an_in_app_purchase_key_without_armour_is_malformed_and_not_echoed(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch, one_line: bool
) -> None:
    body = _unarmoured_p8(one_line)
    settings = load_settings(
        apple_bundle_id="app.live", apple_products={"p": 10}, apple_api_private_key=body
    )
    ok, detail = app_store_status(settings)
    assert not ok and "LIVEAI_APPLE_API_PRIVATE_KEY is malformed" in detail
    monkeypatch.setenv("LIVEAI_APPLE_BUNDLE_ID", "app.live")
    monkeypatch.setenv("LIVEAI_APPLE_PRODUCTS", '{"p": 10}')
    monkeypatch.setenv("LIVEAI_APPLE_API_PRIVATE_KEY", body)
    doctor = cli_embedded("doctor", "--json")
    assert "LIVEAI_APPLE_API_PRIVATE_KEY is malformed" in doctor.stdout
    for shown in (detail, doctor.output):
        assert not any(fragment in shown for fragment in _fragments(body))


@pytest.mark.parametrize("one_line", [True, False], ids=["one line", "lines"])
def test_a_sign_in_with_apple_key_without_armour_is_malformed_and_not_echoed(
    one_line: bool,
) -> None:
    body = _unarmoured_p8(one_line)
    settings = load_settings(
        siwa_team_id="TEAM123456",
        siwa_key_id="KEY1234567",
        siwa_client_id="app.live",
        siwa_private_key=body,
    )
    with pytest.raises(ConfigError) as caught:
        AppleClient.from_settings(settings)
    message = f"{caught.value.message} {caught.value.hint}"
    assert "LIVEAI_SIWA_PRIVATE_KEY is malformed" in message
    assert not any(fragment in message for fragment in _fragments(body))


def test_an_unreadable_key_path_names_the_setting_not_the_value(tmp_path: Path) -> None:
    missing = str(tmp_path / "AuthKey_SECRETNAME.p8")
    settings = load_settings(
        apple_bundle_id="app.live", apple_products={"p": 10}, apple_api_private_key=missing
    )
    ok, detail = app_store_status(settings)
    assert not ok and "LIVEAI_APPLE_API_PRIVATE_KEY" in detail and "SECRETNAME" not in detail


def test_an_apns_key_pasted_as_the_key_file_is_malformed_and_not_echoed() -> None:

    from liveai.push.token import load_signing_key

    body = _unarmoured_p8(one_line=True)
    with pytest.raises(ConfigError, match="LIVEAI_APNS_KEY_FILE is malformed") as caught:
        load_signing_key(Path(body))
    assert not any(fragment in str(caught.value) for fragment in _fragments(body))
