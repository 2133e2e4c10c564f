from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.fakes.apple_store import AppleStoreFake
from tests.purchases.helpers import (
    BUNDLE,
    PRODUCTS,
    StorePki,
    in_app,
    notification_body,
    receipt_body,
    transaction_payload,
)

ISS = "https://auth.example/oidc"
RECEIPT = base64.b64encode(b"a receipt").decode()
PKI = StorePki()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AppleStoreFake]:
    fake = AppleStoreFake(shared_secret="s3cret").start()
    fake.add_receipt(RECEIPT, "Production", receipt_body([in_app("1"), in_app("2")]))
    root = tmp_path / "root.pem"
    root.write_bytes(PKI.root_pem())
    settings = {
        "BUNDLE_ID": BUNDLE,
        "PRODUCTS": json.dumps(PRODUCTS),
        "SHARED_SECRET": "s3cret",
        "VERIFY_RECEIPT_URL": fake.production_url,
        "VERIFY_RECEIPT_SANDBOX_URL": fake.sandbox_url,
        "ROOT_CA": str(root),
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"LIVEAI_APPLE_{name}", value)
    yield fake
    fake.stop()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_cli_receipt_roundtrip_with_refund(cli: Cli, store: AppleStoreFake, tmp_path: Path) -> None:
    assert cli("users", "create", "--issuer", ISS, "--sub", "ann").exit_code == 0
    receipt = write(tmp_path, "receipt.b64", RECEIPT + "\n")
    first = cli("receipts", "verify", receipt, "--user", "ann", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["credited"] == 200
    again = cli("receipts", "verify", "-", "--user", "ann", "--json", input=RECEIPT)
    statuses = [t["status"] for t in json.loads(again.stdout)["transactions"]]
    assert statuses == ["already credited", "already credited"]
    body = write(
        tmp_path, "refund.json", notification_body(PKI, "REFUND", uuid="r-1", transaction_id="1")
    )
    refund = cli("receipts", "notify", body, "--json")
    assert refund.exit_code == 0, refund.output
    assert json.loads(refund.stdout)["outcome"] == "clawed back 100"
    listed = json.loads(cli("receipts", "list", "--user", "ann", "--json").stdout)
    assert [(p["transaction_id"], p["state"]) for p in listed] == [
        ("1", "refunded"),
        ("2", "credited"),
    ]
    shown = json.loads(cli("receipts", "notifications", "--json").stdout)
    assert [(n["type"], n["outcome"]) for n in shown] == [("REFUND", "clawed back 100")]


def test_cli_transaction_and_its_refusals(
    cli_embedded: Cli, store: AppleStoreFake, tmp_path: Path
) -> None:
    cli = cli_embedded
    assert cli("users", "create", "--issuer", ISS, "--sub", "bo").exit_code == 0
    assert cli("users", "create", "--issuer", ISS, "--sub", "cy").exit_code == 0
    signed = PKI.sign(transaction_payload("31"))
    path = write(tmp_path, "signed.jws", signed)
    ok = cli("receipts", "transaction", path, "--user", "bo")
    assert ok.exit_code == 0, ok.output
    assert "100 credits added" in ok.stderr
    replay = cli("receipts", "transaction", path, "--user", "bo")
    assert replay.exit_code == 0 and "nothing new to credit" in replay.stderr
    taken = cli("receipts", "transaction", path, "--user", "cy")
    assert taken.exit_code == 1
    assert "already credited to another user" in taken.stderr
    truncated = cli(
        "receipts", "transaction", write(tmp_path, "t.jws", signed[:40]), "--user", "bo"
    )
    assert truncated.exit_code == 2 and "not a JWS" in truncated.stderr
    forged = StorePki().sign(transaction_payload("32"))
    refused = cli("receipts", "transaction", write(tmp_path, "f.jws", forged), "--user", "bo")
    assert refused.exit_code == 4 and "does not chain" in refused.stderr
    unknown = PKI.sign(transaction_payload("33", productId="ai.live.gold"))
    bad = cli("receipts", "transaction", write(tmp_path, "u.jws", unknown), "--user", "bo")
    assert bad.exit_code == 2 and "unknown App Store product" in bad.stderr
    nobody = cli("receipts", "transaction", path, "--user", "nobody")
    assert nobody.exit_code == 3
    listed = json.loads(cli("receipts", "list", "--json").stdout)
    assert [p["transaction_id"] for p in listed] == ["31"]


def test_cli_bad_receipt_input(cli_embedded: Cli, store: AppleStoreFake, tmp_path: Path) -> None:
    cli = cli_embedded
    assert cli("users", "create", "--issuer", ISS, "--sub", "dee").exit_code == 0
    not_b64 = cli("receipts", "verify", "-", "--user", "dee", input="%%% not base64 %%%")
    assert not_b64.exit_code == 2 and "not base64" in not_b64.stderr
    missing = cli("receipts", "verify", str(tmp_path / "absent"), "--user", "dee")
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    bad_body = cli("receipts", "notify", "-", input="{not json")
    assert bad_body.exit_code == 2 and "not JSON" in bad_body.stderr
    assert store.requests == []
    assert json.loads(cli("receipts", "list", "--json").stdout) == []


def test_cli_products_and_doctor(
    cli_embedded: Cli, store: AppleStoreFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = json.loads(cli_embedded("receipts", "products", "--json").stdout)
    assert rows == [
        {"credits": 100, "product_id": "ai.live.credits100"},
        {"credits": 500, "product_id": "ai.live.credits500"},
    ]
    report = json.loads(cli_embedded("doctor", "--json").stdout)
    (app_store,) = [c for c in report["checks"] if c["name"] == "app store"]
    assert app_store["ok"] and "2 products" in app_store["detail"]
    monkeypatch.delenv("LIVEAI_APPLE_PRODUCTS")
    report = json.loads(cli_embedded("doctor", "--json").stdout)
    (app_store,) = [c for c in report["checks"] if c["name"] == "app store"]
    assert not app_store["ok"] and "LIVEAI_APPLE_PRODUCTS" in app_store["detail"]


def test_cli_unconfigured_names_the_settings(cli_embedded: Cli) -> None:
    result = cli_embedded("receipts", "products")
    assert result.exit_code == 1
    assert "LIVEAI_APPLE_BUNDLE_ID, LIVEAI_APPLE_PRODUCTS missing" in result.stderr


def test_cli_lookup_shows_the_verified_transaction(
    cli_embedded: Cli, store: AppleStoreFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    key = ec.generate_private_key(ec.SECP256R1())
    store.api_key, store.api_bundle_id = key.public_key(), BUNDLE
    store.transactions["2000000000000077"] = PKI.sign(transaction_payload("2000000000000077"))
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    for name, value in {
        "API_URL": store.api_url,
        "API_KEY_ID": "KEY123",
        "API_ISSUER_ID": "issuer",
        "API_PRIVATE_KEY": pem,
    }.items():
        monkeypatch.setenv(f"LIVEAI_APPLE_{name}", value)
    found = cli_embedded("receipts", "lookup", "2000000000000077", "--json")
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["productId"] == "ai.live.credits100"
    missing = cli_embedded("receipts", "lookup", "2000000000000078")
    assert missing.exit_code == 3 and "4040010" in missing.stderr
    assert json.loads(cli_embedded("receipts", "list", "--json").stdout) == []
