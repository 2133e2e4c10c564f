from __future__ import annotations

import json
from pathlib import Path

import pytest

from liveai.errors import ConfigError
from liveai.settings import Settings, default_config_path, load_settings
from tests.conftest import Cli


def test_embedded_defaults_live_under_home(isolated_env: Path) -> None:
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{isolated_env / 'liveai.db'}"
    assert settings.resolved_storage_dir == isolated_env / "storage"
    assert settings.is_embedded


def test_environment_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "liveai.toml"
    config.write_text('database_url = "sqlite:///from-toml.db"\nstorage = "s3"\n')
    monkeypatch.setenv("LIVEAI_CONFIG", str(config))
    monkeypatch.setenv("LIVEAI_DATABASE_URL", "sqlite:///from-env.db")
    settings = load_settings()
    assert settings.database_url == "sqlite:///from-env.db"
    assert settings.storage == "s3"
    assert default_config_path() == config


def test_malformed_toml_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("database_url = \n")
    monkeypatch.setenv("LIVEAI_CONFIG", str(config))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_unknown_toml_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "typo.toml"
    config.write_text('databse_url = "x"\n')
    monkeypatch.setenv("LIVEAI_CONFIG", str(config))
    with pytest.raises(ConfigError, match="databse_url"):
        load_settings()


def test_invalid_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEAI_STORAGE", "floppy")
    with pytest.raises(ConfigError, match="storage"):
        load_settings()


def test_masked_hides_database_password() -> None:
    settings = Settings(database_url="postgresql+psycopg://ops:hunter2@db/liveai")
    shown = json.dumps(settings.masked())
    assert "hunter2" not in shown
    assert "ops:***@db/liveai" in shown


def test_config_show_json_and_path(cli_embedded: Cli, isolated_env: Path) -> None:
    result = cli_embedded("config", "show", "--json")
    assert result.exit_code == 0, result.output
    shown = {row["name"]: row["value"] for row in json.loads(result.stdout)}
    assert shown["home"] == str(isolated_env)
    assert shown["resolved_database_url"].endswith("liveai.db")
    path = cli_embedded("config", "path")
    assert path.stdout.strip() == str(default_config_path())


def test_config_show_with_bad_toml_exits_1(
    cli_embedded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[[[")
    monkeypatch.setenv("LIVEAI_CONFIG", str(config))
    result = cli_embedded("config", "show")
    assert result.exit_code == 1
    assert "not valid TOML" in result.stderr
    assert result.stdout == ""


SECRET_URLS = [
    "postgresql+psycopg://ops@127.0.0.1:9/x?password=s3cretQ&sslpassword=s3cretS",
    "postgresql+psycopg://ops:s3cretU@127.0.0.1:9/x",
    "postgresql+psycopg://ops@127.0.0.1:9/x?passfile=/home/ops/s3cretF",
    "postgresql+psycopg://ops@127.0.0.1:9/x?PASSWORD=s3cretC",
]
BROKEN_URLS = ["postgres ql://ops:s3cretP@h/db", "postgresql+psycopg://ops:s3cretN@h:port/db"]


@pytest.mark.parametrize("url", SECRET_URLS + BROKEN_URLS)
def test_masked_hides_every_database_secret(url: str) -> None:
    shown = json.dumps(Settings(database_url=url).masked())
    assert "s3cret" not in shown
    assert "***" in shown


@pytest.mark.parametrize("url", SECRET_URLS)
def test_database_secrets_stay_out_of_config_doctor_and_errors(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("LIVEAI_DATABASE_URL", url)
    for args in (("config", "show"), ("config", "show", "--json"), ("doctor", "--json")):
        result = cli_embedded(*args)
        assert "s3cret" not in result.output, args
    failed = cli_embedded("users", "list")
    assert failed.exit_code == 1 and "cannot reach the database" in failed.stderr
    assert "s3cret" not in failed.output


@pytest.mark.parametrize("url", BROKEN_URLS)
def test_an_unparseable_database_url_is_a_masked_config_error(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("LIVEAI_DATABASE_URL", url)
    failed = cli_embedded("users", "list")
    assert failed.exit_code == 1, failed.output
    assert "LIVEAI_DATABASE_URL" in failed.stderr and "s3cret" not in failed.output
    doctor = cli_embedded("doctor", "--json")
    assert "s3cret" not in doctor.output
