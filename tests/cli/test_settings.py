"""Settings as the CLI shows them: sources, typos, templates, env files, URLs, doctor."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from liveai.settings import Settings
from liveai.settings_guide import description, template
from tests.conftest import Cli


def test_a_misspelt_variable_warns_on_every_command_and_fails_doctor(
    cli_embedded: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_DATABSE_URL", "postgresql://db.example/liveai")
    listed = cli_embedded("users", "list")
    assert listed.exit_code == 0
    assert "LIVEAI_DATABSE_URL is not a liveai setting" in listed.stderr
    assert "LIVEAI_DATABASE_URL" in listed.stderr
    doctor = cli_embedded("doctor", "--json")
    assert doctor.exit_code == 1
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["variables"]["status"] == "FAIL"


def test_doctor_statuses(cli_embedded: Cli, isolated_env: Path) -> None:
    report = json.loads(cli_embedded("doctor", "--json").stdout)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["deployment"] == "warn"
    assert statuses["identity"] == "off"
    assert statuses["database"] == "ok"
    assert report["ok"] is True
    human = cli_embedded("doctor").stdout
    assert "\twarn\t" in human and "\toff\t" in human


def test_development_is_not_warned_about(
    cli_embedded: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_ENVIRONMENT", "development")
    report = json.loads(cli_embedded("doctor", "--json").stdout)
    assert {c["name"]: c["status"] for c in report["checks"]}["deployment"] == "ok"


@pytest.mark.postgres
def test_postgres_urls_as_platforms_give_them(
    cli_embedded: Cli, isolated_env: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = "postgres://" + postgres_url.split("://", 1)[1]
    monkeypatch.setenv("LIVEAI_DATABASE_URL", bare)
    result = cli_embedded("db", "current")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("at revision ")


def test_db_current_counts_revisions(cli_embedded: Cli, isolated_env: Path) -> None:
    assert cli_embedded("db", "upgrade").exit_code == 0
    report = json.loads(cli_embedded("db", "current", "--json").stdout)
    assert report["applied"] == report["total"] > 0
    text = cli_embedded("db", "current").stdout
    assert text.startswith(f"at revision {report['total']} of {report['total']} ")


def test_config_show_gives_source_and_description(
    cli_embedded: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "liveai.toml"
    config.write_text("upload_retention_days = 14\n")
    monkeypatch.setenv("LIVEAI_CONFIG", str(config))
    monkeypatch.setenv("LIVEAI_KLING_API_KEY", "sk-secret-value")
    rows = {r["name"]: r for r in json.loads(cli_embedded("config", "show", "--json").stdout)}
    assert rows["upload_retention_days"]["source"] == "file"
    assert rows["upload_retention_days"]["value"] == 14
    assert rows["kling_api_key"]["source"] == "environment"
    assert rows["kling_api_key"]["value"] == "********"
    assert rows["log_retention_days"]["source"] == "default"
    assert all(r["description"] for r in rows.values())
    assert "sk-secret-value" not in cli_embedded("config", "show").stdout


def test_every_setting_has_a_description() -> None:
    assert [name for name in Settings.model_fields if not description(name)] == []


def test_config_init_writes_a_commented_template(cli_embedded: Cli, tmp_path: Path) -> None:
    target = tmp_path / "conf" / "liveai.toml"
    assert cli_embedded("config", "init", "--path", str(target)).exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert tomllib.loads(target.read_text()) == {}
    for name in Settings.model_fields:
        assert f"# {name} = " in target.read_text()
    again = cli_embedded("config", "init", "--path", str(target))
    assert again.exit_code == 2
    assert "--force" in again.stderr
    uncommented = "\n".join(
        line[2:] for line in template().splitlines() if line.startswith("# upload_retention_days")
    )
    assert tomllib.loads(uncommented) == {"upload_retention_days": 30}


def test_env_file_loads_variables(cli_embedded: Cli, isolated_env: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text('# comment\nexport LIVEAI_LOG_RETENTION_DAYS="21"\n\n')
    result = cli_embedded("--env-file", str(env_file), "config", "show", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["log_retention_days"] == {**rows["log_retention_days"], "value": 21}
    broken = tmp_path / "broken.env"
    broken.write_text("just words\n")
    failed = cli_embedded("--env-file", str(broken), "users", "list")
    assert failed.exit_code == 1
    assert "line 1 is not KEY=VALUE" in failed.stderr


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_config_path_that_names_nothing_is_an_error(
    cli_embedded: Cli,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    kind: str,
) -> None:
    target = tmp_path / ("absent.toml" if kind == "missing" else "")
    monkeypatch.setenv("LIVEAI_CONFIG", str(target))
    result = cli_embedded("users", "list")
    assert result.exit_code == 1
    assert "LIVEAI_CONFIG names" in result.stderr
    doctor = json.loads(cli_embedded("doctor", "--json").stdout)
    assert doctor["ok"] is False
